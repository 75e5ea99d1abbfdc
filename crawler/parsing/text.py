"""Markup to text, shared by the site parsers."""

from __future__ import annotations

import re
from html import unescape

_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*br\s*/?\s*>|</\s*(?:p|div|li)\s*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"[ \t\r\f\v]*\n[\s]*")


def strip_markup(text: str) -> str:
    """Drop the highlight markup search results put in titles and unescape entities."""
    return unescape(_TAG.sub("", text)).strip()


def html_to_text(html: str) -> str:
    """An HTML body as text: one line per paragraph or line break, tags dropped."""
    text = _TAG.sub("", _BREAK.sub("\n", html))
    return _BLANK_LINES.sub("\n", unescape(text)).strip()
