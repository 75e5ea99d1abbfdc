"""Text cleaning shared by ingest and labeling (pure functions).

``clean_text`` strips HTML tags and entities, applies NFKC (full-width letters, digits and
punctuation become half-width, so "１２３" and "123" match), folds runs of spaces inside a
line and runs of blank lines, and keeps emoji and line breaks.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape

_TAG = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    text = unescape(_TAG.sub("", text))
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_title(text: str) -> str:
    """A title is one line."""
    return _SPACES.sub(" ", clean_text(text).replace("\n", " ")).strip()
