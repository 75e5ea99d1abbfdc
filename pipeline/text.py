"""Text normalization shared by ingest and labeling (pure functions).

``clean_text`` turns a post as received into the form every later stage reads:

1. HTML: ``<br>`` and paragraph ends become line breaks, other tags are dropped, entities
   (``&amp;``, ``&#20320;``) are decoded.
2. NFKC: full-width letters, digits and punctuation become half-width (``１２３`` -> ``123``,
   ``，`` -> ``,``), so that later rules need one spelling only.
3. Traditional -> simplified Chinese with OpenCC (``t2s``, the C++ library's own binding).
   OpenCC only runs on texts that hold at least one traditional character: most mainland posts
   hold none, and the check is a fraction of the conversion's cost.
4. Whitespace: runs of spaces inside a line become one space, three or more line breaks two.
5. Repeated punctuation: ``!!!`` -> ``!``, ``。。`` -> ``。``, a long run of dots -> ``...``
   (three dots stay: they mark a summary the site cut). Emoji are kept as they are.

The result is idempotent: ``clean_text(clean_text(x)) == clean_text(x)``.

:func:`fold` is a different tool: a same-length, character-by-character view of a text
(NFKC and traditional -> simplified where one character maps to one character, dashes to
``-``), used to *find* things in a text while editing the text itself at the same offsets.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from html import unescape

import opencc

_BREAK_TAG = re.compile(r"<\s*(?:br\s*/?|/\s*p|/\s*div|/\s*li)\s*>", re.IGNORECASE)
# Tag-shaped only, so "价格<100元，质量>差" is left alone.
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,500})?/?>", re.DOTALL)
_SPACES = re.compile(r"[ \t\f\v\u3000\xa0]+")
_LINE_EDGES = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
_PUNCT_RUN = re.compile(r"[!?,;:~。、]{2,}")
_SAME_CHAR_RUN = re.compile(r"(.)\1+")
_LONG_DOTS = re.compile(r"\.{4,}")
# Blocks among which NFKC works character by character (nothing composes with a neighbour):
# ASCII, punctuation and symbols, CJK, full-width forms (not half-width kana or Hangul, whose
# voicing marks compose), emoji; combining marks inside them are taken out in code.
_PER_CHAR_NFKC_BLOCKS = (
    (0x00, 0x7F),
    (0x2000, 0x27BF),
    (0x3000, 0x303F),
    (0x3200, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFEF),
    (0x1F000, 0x1FAFF),
)

# CJK ideographs checked for traditional forms (Extension A and the unified block).
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class CharClass:
    """A set of characters to search for, fast on the Basic Multilingual Plane.

    Python's regex engine matches a class of BMP characters with a bitmap, but one that holds
    a single character beyond it (an emoji, a mathematical digit) becomes a list of ranges
    tried one by one: thousands of times slower for large classes. So there are two patterns,
    and the full one is used only on texts that hold such a character.
    """

    def __init__(self, chars: Iterable[str], *, negate: bool = False) -> None:
        points = sorted({ord(c) for c in chars})
        self._bmp = _class_pattern([p for p in points if p <= 0xFFFF], negate)
        self._all = _class_pattern(points, negate)

    def _pattern(self, text: str) -> re.Pattern[str]:
        return self._all if _ASTRAL.search(text) else self._bmp

    def search(self, text: str) -> re.Match[str] | None:
        return self._pattern(text).search(text)

    def sub(self, repl: Callable[[re.Match[str]], str], text: str) -> str:
        return self._pattern(text).sub(repl, text)


def _class_pattern(points: list[int], negate: bool) -> re.Pattern[str]:
    """``[...]`` of sorted code points, consecutive ones written as ranges."""
    parts = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        lo, hi = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    if not parts:
        return re.compile(r"[^\s\S]" if not negate else r"[\s\S]")
    return re.compile("[" + ("^" if negate else "") + "".join(parts) + "]")


def char_class(chars: Iterable[str], *, negate: bool = False) -> CharClass:
    return CharClass(chars, negate=negate)


@cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@cache
def simplified_chars() -> dict[str, str]:
    """Every ideograph OpenCC simplifies to exactly one other character."""
    chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi + 1)]
    # One conversion call over newline-separated characters: phrases cannot span lines.
    converted = _t2s().convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - would mean OpenCC changed shape
        raise RuntimeError("OpenCC t2s changed the line count of the character table")
    return {c: s for c, s in zip(chars, converted, strict=True) if s != c and len(s) == 1}


@cache
def _traditional_re() -> CharClass:
    return char_class(simplified_chars())


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese; texts without a traditional character are returned as is."""
    if _traditional_re().search(text) is None:
        return text
    return str(_t2s().convert(text))


@cache
def _per_char_nfkc_unsafe() -> CharClass:
    """Any character outside the per-character blocks, or a combining one inside them."""
    changes = nfkc_changes()
    safe = (
        chr(cp)
        for lo, hi in _PER_CHAR_NFKC_BLOCKS
        for cp in range(lo, hi + 1)
        if not _composes(chr(cp), changes)
    )
    return char_class(safe, negate=True)


def _composes(ch: str, changes: dict[str, str]) -> bool:
    """Whether ``ch`` is, or normalizes to something holding, a combining character (the
    table of NFKC changes saves normalizing the characters NFKC leaves alone: most of them)."""
    if unicodedata.combining(ch):
        return True
    normal = changes.get(ch)
    return normal is not None and any(unicodedata.combining(c) for c in normal)


@cache
def nfkc_changes() -> dict[str, str]:
    """Every character of the first two planes NFKC changes, and what into."""
    changes = {}
    for cp in range(0xA0, 0x20000):
        if not 0xD800 <= cp <= 0xDFFF:
            ch = chr(cp)
            nfkc = unicodedata.normalize("NFKC", ch)
            if nfkc != ch:
                changes[ch] = nfkc
    return changes


@cache
def _nfkc_pattern() -> CharClass:
    return char_class(nfkc_changes())


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, several times faster on Chinese text.

    NFKC is slow in CPython on text that needs it (every post with a ``，`` does). Where no
    character can compose with a neighbour, NFKC is a per-character mapping: that mapping is
    applied with one regex pass; anything else goes through ``unicodedata``.
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    if _per_char_nfkc_unsafe().search(text):
        return unicodedata.normalize("NFKC", text)
    changes = nfkc_changes()
    return _nfkc_pattern().sub(lambda m: changes[m.group()], text)


def _fold_punct_run(match: re.Match[str]) -> str:
    return _SAME_CHAR_RUN.sub(r"\1", match.group())


def clean_text(text: str) -> str:
    """The normalized form of a post's text (see the module docstring); line breaks kept."""
    if "<" in text:
        text = _TAG.sub("", _BREAK_TAG.sub("\n", text))
    if "&" in text:
        text = unescape(text)
    text = to_simplified(nfkc(text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    text = _PUNCT_RUN.sub(_fold_punct_run, text.strip())
    if "...." in text:
        text = _LONG_DOTS.sub("...", text)
    return text


def clean_title(text: str) -> str:
    """A title is one line."""
    return _SPACES.sub(" ", clean_text(text).replace("\n", " ")).strip()


# --- folding (same length, for finding) ---------------------------------------------------

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"


@cache
def fold_table() -> dict[int, str]:
    table = {ord(ch): to for ch, to in nfkc_changes().items() if len(to) == 1}
    for trad, simp in simplified_chars().items():
        table[ord(trad)] = simp
    for dash in _DASHES:
        table[ord(dash)] = "-"
    table[0xFF0D] = "-"
    # Characters whose NFKC form is a simplifiable traditional character fold all the way.
    for cp, ch in list(table.items()):
        table[cp] = table.get(ord(ch), ch)
    return table


@cache
def _foldable() -> CharClass:
    return char_class(chr(cp) for cp in fold_table())


def fold(text: str) -> str:
    """A same-length view of ``text`` for matching: ``fold(t)[i]`` corresponds to ``t[i]``.

    Full-width and other compatibility characters become their NFKC character, traditional
    ideographs their simplified form, dashes ``-``; characters whose normal form is longer
    than one character are left as they are.
    """
    if text.isascii():
        return text
    table = fold_table()
    return _foldable().sub(lambda m: table[ord(m.group())], text)
