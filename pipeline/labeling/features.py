"""What labeling functions read, computed once per post.

The text is cleaned as ingest cleans it (NFKC, tags and entities stripped), title first. Tokens
come from a private ``jieba.Tokenizer`` loaded with the project's user dictionary
(``resources/jieba_user_dict.txt``: domain terms such as 待揽收, 人去楼空, 先用后付 stay whole),
never the global one, so that other code using jieba is unaffected. Each token keeps its
character offset so a token hit can be checked for denial like a phrase hit.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jieba

from pipeline.contract import split_tags
from pipeline.text import clean_text, clean_title

jieba.setLogLevel(logging.WARNING)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Post:
    """The fields of a complaint the rules may read."""

    title: str
    body: str
    issue: tuple[str, ...] = ()
    appeal: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Post:
        return cls(
            title=str(record.get("title") or ""),
            body=str(record.get("body") or ""),
            issue=_tags(record.get("issue")),
            appeal=_tags(record.get("appeal")),
        )


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(split_tags(value))
    return tuple(str(v).strip() for v in value if str(v).strip())


@dataclass(frozen=True)
class Features:
    text: str  # cleaned title, a newline, cleaned body
    tokens: tuple[str, ...]
    offsets: tuple[int, ...]  # character offset of each token in ``text``
    issue: tuple[str, ...]
    appeal: tuple[str, ...]


@cache
def tokenizer() -> jieba.Tokenizer:
    """The project's jieba tokenizer, initialized once per process (about 1.5 s)."""
    with _LOCK:
        tok = jieba.Tokenizer()
        tok.initialize()
        with resources.as_file(
            resources.files("pipeline.resources") / "jieba_user_dict.txt"
        ) as path:
            tok.load_userdict(str(path))
        return tok


_SPACE = re.compile(r"\s")


def featurize(post: Post) -> Features:
    text = f"{clean_title(post.title)}\n{clean_text(post.body)}"
    tokens: list[str] = []
    offsets: list[int] = []
    for word, start, _end in tokenizer().tokenize(text):
        if not _SPACE.fullmatch(word):
            tokens.append(word)
            offsets.append(start)
    return Features(
        text=text,
        tokens=tuple(tokens),
        offsets=tuple(offsets),
        issue=post.issue,
        appeal=post.appeal,
    )


def featurize_many(posts: Sequence[Post]) -> list[Features]:
    return [featurize(post) for post in posts]
