"""Personal-data masking (pure functions): find personal data in a post and replace it with
typed placeholders before anything is stored or exported.

What is found, and how (``PiiType`` -> placeholder):

- ``phone`` -> ``[PHONE]``: mainland mobiles (``1[3-9]`` + 9 digits) with or without ``+86`` /
  ``0086``, spaces or dashes; landlines ``0xx-xxxxxxxx`` / ``(0xxx)xxxxxxx`` (an extension
  included); 7-12 digits right after a phone cue (电话, 手机, 打 ...). ``400``/``800``
  business hotlines are not personal and are kept.
- ``id_card`` -> ``[ID]``: 18-character resident ids whose birth date and GB 11643 check
  character are valid (last character may be ``X``); 15 or 18 characters after an id cue.
- ``bank_card`` -> ``[BANK_CARD]``: 16-19 digits passing the Luhn check on a card network's
  leading digit (3-6); 12-19 digits after a bank cue (银行卡, 卡号 ...).
- ``email`` -> ``[EMAIL]``.
- ``order_no`` -> ``[ORDER]``: numbers after an order cue (订单号 ...), letter-prefixed ids
  (``DD20260503123456``) and, whatever the cue, any other unbroken id-like number of 12 or
  more digits (a long number in a complaint is an order, waybill or account number far more
  often than anything that must survive; amounts, dates, times and 11-digit ``sn`` never reach
  12 digits).
- ``tracking_no`` -> ``[TRACKING]``: numbers after a courier or waybill cue (顺丰单号, 快递单号,
  单号 ...) and ids with a courier prefix (``SF``, ``YT``, ``JT`` ...).
- ``qq`` -> ``[QQ]``, ``wechat`` -> ``[WECHAT]``: only when introduced as such (QQ/扣扣;
  微信/vx/V信 followed by a WeChat id or a number).
- ``name`` -> ``[NAME]``: after a name cue (收件人, 姓名, 我叫 ...), a common surname plus one
  or two characters (or a title: 张先生).
- ``partial`` -> ``[PARTIAL]``: the tail of a summary the site cut (``...``) when what was cut
  looks like one of the above (six or more digits, an ``@``, or a cue right before it).

Cue words are data (``resources/pii_cues.csv``: kind, words separated by ``|``; also the
titles a name may take, 先生/女士, and the characters that end a name, 电/的/在), as are the
surnames (``resources/surnames.txt``); extend them without touching code.

Precision: amounts (``¥2,399``, ``2399元``), dates (``2026-05-03``, ``5月3日``, ``20260503``),
times, product models and prices survive; the complaint's own ``sn`` (passed as ``protect``)
and any number after a complaint-id cue (投诉编号) are never masked.

How: matching runs on :func:`pipeline.text.fold` of the text, a same-length view with
full-width characters half-width and traditional characters simplified, so that ``１３８``
and 電話 match while the placeholders are put into the text itself at the same offsets. The
text can therefore be the original as received or its normalized form; ingest masks both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from pipeline.text import CharClass, char_class, fold, fold_table, nfkc_changes


class PiiType(StrEnum):
    PHONE = "phone"
    ID_CARD = "id_card"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    ORDER_NO = "order_no"
    TRACKING_NO = "tracking_no"
    QQ = "qq"
    WECHAT = "wechat"
    NAME = "name"
    PARTIAL = "partial"


PLACEHOLDERS: dict[PiiType, str] = {
    PiiType.PHONE: "[PHONE]",
    PiiType.ID_CARD: "[ID]",
    PiiType.BANK_CARD: "[BANK_CARD]",
    PiiType.EMAIL: "[EMAIL]",
    PiiType.ORDER_NO: "[ORDER]",
    PiiType.TRACKING_NO: "[TRACKING]",
    PiiType.QQ: "[QQ]",
    PiiType.WECHAT: "[WECHAT]",
    PiiType.NAME: "[NAME]",
    PiiType.PARTIAL: "[PARTIAL]",
}
PII_TYPES: tuple[PiiType, ...] = tuple(PiiType)

# Keys of a raw payload that hold the complainant's identity, dropped whole (any depth).
# 电诉宝 returns idcard, mobile, email and name; 黑猫投诉's ``author`` is the poster's account.
PERSONAL_KEYS = frozenset(
    {
        "author",
        "user",
        "userinfo",
        "user_info",
        "uid",
        "username",
        "user_name",
        "nickname",
        "nick",
        "avatar",
        "wb_profile",
        "mobile",
        "phone",
        "tel",
        "telephone",
        "email",
        "mail",
        "idcard",
        "id_card",
        "identity",
        "realname",
        "real_name",
        "name",
        "address",
        "addr",
        "ip",
        "qq",
        "wechat",
        "weixin",
    }
)

# A WeChat id: 6-20 letters, digits, _ or -, starting with a letter (or a wxid_ id).
_WECHAT_ID = r"(?P<v>wxid_[A-Za-z0-9_-]{4,30}|[A-Za-z][A-Za-z0-9_-]{5,29})(?![A-Za-z0-9_-])"
# Product words that follow 微信 and are not ids.
_NOT_WECHAT_ID = re.compile(r"(?i)iphone|ipad|mac|huawei|xiaomi|redmi|oppo|vivo|apple|app")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits, single spaces or dashes allowed between them (and two, for sloppy typing).
# (No look-behind: a pattern that starts with a character class is scanned for in C.)
_RUN = re.compile(r"[0-9](?:[ -]{0,2}[0-9]){4,}(?:[ -]?[Xx](?![A-Za-z]))?(?![0-9])")
_URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+[^\s\u4e00-\u9fff，。！？、）)]*")
_GROUP = re.compile(r"[0-9]+[Xx]?|[Xx]")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_LETTERS_BEFORE = re.compile(r"(?<![A-Za-z])[A-Za-z]{1,4}$")
_PAREN_AREA = re.compile(r"[(（]0[0-9]{2,3}[)）] ?$")
_PLUS = re.compile(r"\+ ?$")
# Between a cue and its value: separators, then optionally 是/为 (is).
_CUE_GAP = r"[\s:：#=]{0,3}(?:是|为|:|：)?[\s:：#=]{0,2}"
_CUE_GAP_REVERSED = r"[\s:：#=]{0,2}(?:是|为|:|：)?[\s:：#=]{0,3}"
_CUE_WINDOW = 14
_GAP_CHARS = frozenset(" \t\n:：#=是为")
_TRUNCATION_TAIL = re.compile(r"[A-Za-z0-9@._ -]+$")

COURIER_PREFIXES = frozenset(
    {"SF", "YT", "JT", "JD", "JDV", "DPK", "ZTO", "YD", "STO", "EMS", "YZ", "TT", "DB", "BS"}
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    kind: PiiType


@dataclass(frozen=True)
class _Rules:
    cue_before: re.Pattern[str]  # the cue kinds, matched on a reversed window
    cue_last_chars: frozenset[str]  # the characters a cue (or its 号码 suffix) can end with
    wechat: re.Pattern[str]
    name: re.Pattern[str]
    letter_cues: re.Pattern[str]  # cues of values that need no digits (WeChat ids, names)
    needs_fold: CharClass  # characters that matching only sees after folding
    expands: CharClass  # characters normalization turns into several, and tabs
    surnames: tuple[frozenset[str], frozenset[str]]  # (compound, single)
    honorifics: tuple[str, ...]  # 先生, 女士: a name may be a surname and one of these
    name_stops: frozenset[str]  # characters that end a name rather than continue it (电, 的)


def _resource_text(name: str) -> str:
    return resources.files("pipeline.resources").joinpath(name).read_text(encoding="utf-8")


def _cue_words() -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for line in _resource_text("pii_cues.csv").splitlines()[1:]:
        if not line.strip():
            continue
        kind, _, listed = line.partition(",")
        words.setdefault(kind.strip(), []).extend(w for w in listed.strip().split("|") if w)
    return words


@cache
def rules_version() -> str:
    """Changes when the cue or surname tables change (ingest then re-reads every file)."""
    data = _resource_text("pii_cues.csv") + "\0" + _resource_text("surnames.txt")
    return hashlib.sha1(data.encode(), usedforsecurity=False).hexdigest()[:12]


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so that 订单号 wins over 订单 at the same position.
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


# Punctuation the patterns accept in both widths, so that its presence alone does not make
# a text go through :func:`fold`.
_BOTH_WIDTHS = "，：（）！？；"


@cache
def _rules() -> _Rules:
    cues = _cue_words()
    kinds = ("sn", "order", "tracking", "qq", "wechat", "phone", "bank", "id")
    missing = [k for k in (*kinds, "name") if k not in cues]
    if missing:
        raise ValueError(f"resources/pii_cues.csv lacks the cue kinds {missing}")
    # Matched on the reversed text before a number: one attempt, not one per start position.
    cue_before = re.compile(
        _CUE_GAP_REVERSED
        + "(?:码号|号|号编|息信)?(?:"
        + "|".join(f"(?P<{k}>{_alternation(w[::-1] for w in cues[k])})" for k in kinds)
        + ")"
    )
    wechat = re.compile("(?P<cue>" + _alternation(cues["wechat"]) + ")" + _CUE_GAP + _WECHAT_ID)
    name = re.compile(
        "(?:" + _alternation(cues["name"]) + r")(?:姓名|名字)?[\s:：]{0,3}(?:是|叫|为)?"
        r"[\s:：]{0,2}(?P<v>[\u4e00-\u9fff]{1,4})"
    )
    # Literal alternatives only: the regex engine then skips ahead on their first characters.
    letter_cues = re.compile(_alternation(cues["wechat"] + cues["name"]))
    needs_fold = char_class(chr(cp) for cp in fold_table() if chr(cp) not in _BOTH_WIDTHS)
    expanding = [c for c, n in nfkc_changes().items() if len(n) > 1]
    expands = char_class([*expanding, "\t", "\f", "\v"])
    surnames = [
        s.strip()
        for s in _resource_text("surnames.txt").splitlines()
        if s.strip() and not s.startswith("#")
    ]
    compound = frozenset(s for s in surnames if len(s) == 2)
    single = frozenset(s for s in surnames if len(s) == 1)
    last_chars = frozenset(w[-1] for k in kinds for w in cues[k]) | frozenset("码号息")
    return _Rules(
        cue_before,
        last_chars,
        wechat,
        name,
        letter_cues,
        needs_fold,
        expands,
        (compound, single),
        tuple(cues.get("honorific", ())),
        frozenset(cues.get("name_stop", ())),
    )


# --- validators ---------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def id_card_ok(value: str) -> bool:
    """An 18-character resident id with a plausible region, a real birth date and the right
    GB 11643 check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[0] not in "123456789":
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not (1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (bank card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _datetime14(digits: str) -> bool:
    """``20260503143000``: a compact timestamp, not an id."""
    if len(digits) != 14 or not digits.startswith("20"):
        return False
    month, day = int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60


# --- finding ------------------------------------------------------------------------------


def _cue(folded: str, start: int) -> str | None:
    """The kind of cue right before ``start`` (订单号: , QQ ...), if any."""
    if not start:
        return None
    before = start - 1
    while before > start - 6 and before > 0 and folded[before] in _GAP_CHARS:
        before -= 1
    if folded[before] not in _rules().cue_last_chars:
        return None  # "/", "_", a letter no cue ends with: the common case, no regex
    window = folded[max(0, start - _CUE_WINDOW) : start][::-1]
    match = _rules().cue_before.match(window)
    return match.lastgroup if match else None


def _landline(groups: list[str]) -> bool:
    """``010-12345678``, ``0755 1234567``, ``0755-12345678-123``: area code, local number."""
    if len(groups) < 2 or not groups[0].startswith("0") or groups[0][1:2] == "0":
        return False
    area, local = groups[0], groups[1]
    area_ok = len(area) == 3 if area[1] in "12" else len(area) == 4
    ext_ok = len(groups) == 2 or (len(groups) == 3 and 1 <= len(groups[2]) <= 5)
    return area_ok and 7 <= len(local) <= 8 and ext_ok


def _classify(
    folded: str,
    start: int,
    end: int,
    groups: list[str],
    protect: Collection[str],
) -> Span | None:
    """What a digit run at ``folded[start:end]`` is, if personal (its span may grow to take a
    letter prefix, ``+`` or an area code in brackets)."""
    digits = "".join(groups)
    if digits in protect:
        return None
    cue = _cue(folded, start)
    if cue == "sn":
        return None
    n = len(digits)
    if digits[-1] in "Xx":
        if (n == 18 and id_card_ok(digits)) or (cue == "id" and n in (15, 18)):
            return Span(start, end, PiiType.ID_CARD)
        return None
    spaced = " " in folded[start:end]
    letters = (
        _LETTERS_BEFORE.search(folded, max(0, start - 4), start)
        if start and folded[start - 1] in _ASCII_LETTERS
        else None
    )
    if letters is not None:
        prefix = letters.group().upper()
        if n >= 9 and (cue == "tracking" or prefix in COURIER_PREFIXES):
            return Span(letters.start(), end, PiiType.TRACKING_NO)
        if n >= 10 or (n >= 9 and cue == "order"):
            return Span(letters.start(), end, PiiType.ORDER_NO)
        return Span(start, end, PiiType.PHONE) if _mobile(digits) else None
    if cue == "qq" and 5 <= n <= 11:
        return Span(start, end, PiiType.QQ)
    if cue == "wechat" and n >= 5:
        return Span(start, end, PiiType.WECHAT)
    if cue == "tracking" and n >= 8:
        return Span(start, end, PiiType.TRACKING_NO)
    if cue == "order" and n >= 6:
        return Span(start, end, PiiType.ORDER_NO)
    if cue == "bank" and 12 <= n <= 19:
        return Span(start, end, PiiType.BANK_CARD)
    if cue == "id" and n in (15, 18):
        return Span(start, end, PiiType.ID_CARD)
    if (
        cue is None
        and n <= 10
        and digits[0] != "0"
        and not (7 <= n <= 8 and start and folded[start - 1] in ")） ")
    ):
        return None  # short, no cue, no area code: an amount, a date, a count
    if _mobile(digits):
        return Span(start, end, PiiType.PHONE)
    if (n == 13 and digits.startswith("86") and _mobile(digits[2:])) or (
        n == 15 and digits.startswith("0086") and _mobile(digits[4:])
    ):  # +86 138 0013 8000
        plus = _PLUS.search(folded, max(0, start - 2), start)
        return Span(plus.start() if plus else start, end, PiiType.PHONE)
    paren = (
        _PAREN_AREA.search(folded, max(0, start - 7), start)
        if 7 <= n <= 8 and start and folded[start - 1] in ")） "
        else None
    )
    if paren is not None:
        return Span(paren.start(), end, PiiType.PHONE)
    if _landline(groups) or (n == 11 and digits[0] == "0" and digits[1] != "0" and not spaced):
        return Span(start, end, PiiType.PHONE)
    if n == 18 and id_card_ok(digits):
        return Span(start, end, PiiType.ID_CARD)
    if 16 <= n <= 19 and digits[0] in "3456" and luhn_ok(digits):
        return Span(start, end, PiiType.BANK_CARD)
    if cue == "phone" and 7 <= n <= 12 and not (n == 10 and digits[:3] in ("400", "800")):
        return Span(start, end, PiiType.PHONE)
    if n >= 12 and not spaced and not _datetime14(digits):
        return Span(start, end, PiiType.ORDER_NO)
    return None


def _digit_runs(folded: str, protect: Collection[str], taken: list[Span]) -> list[Span]:
    found: list[Span] = []
    urls: list[tuple[int, int]] | None = None
    for match in _RUN.finditer(folded):
        start = match.start()
        run = match.group()
        if run in protect:
            continue
        if start and folded[start - 1].isdigit():
            continue  # the tail of a longer number that matched nothing
        if taken and _overlaps(taken, start, match.end()):
            continue
        if start and folded[start - 1] == "/":
            if urls is None:
                urls = [m.span() for m in _URL.finditer(folded)]
            if any(a <= start < b for a, b in urls):
                continue  # a path segment of a link (a complaint's sn); queries are checked
        if " " in run or "-" in run:
            parts = [
                (g.start() + match.start(), g.end() + match.start(), g.group())
                for g in _GROUP.finditer(run)
            ]
        else:
            parts = [(match.start(), match.end(), run)]
        groups = [p[2] for p in parts]
        whole = _classify(folded, match.start(), match.end(), groups, protect)
        if whole is not None:
            found.append(whole)
            continue
        if len(parts) == 1 or sum(len(g) for g in groups) < 12:
            continue
        # A run that is nothing as a whole may join two things ("2026-05-03 13800138000"):
        # try its groups, longest stretches first.
        chosen: list[Span] = []
        for size in range(len(parts) - 1, 0, -1):
            for i in range(len(parts) - size + 1):
                lo, hi = parts[i][0], parts[i + size - 1][1]
                if _overlaps(chosen, lo, hi):
                    continue
                sub = [p[2] for p in parts[i : i + size]]
                if sum(len(s) for s in sub) < 5:
                    continue
                span = _classify(folded, lo, hi, sub, protect)
                if span is not None:
                    chosen.append(span)
        found.extend(chosen)
    return found


def _names(folded: str) -> list[Span]:
    rules = _rules()
    compound, single = rules.surnames
    found = []
    for match in rules.name.finditer(folded):
        value, start = match.group("v"), match.start("v")
        if value[:2] in compound:
            surname = 2
        elif value[0] in single:
            surname = 1
        else:
            continue
        rest = folded[start + surname : start + surname + 2]
        if rest.startswith(rules.honorifics):
            found.append(Span(start, start + surname + 2, PiiType.NAME))
            continue
        given = 0
        for ch in value[surname:3] if surname == 1 else value[surname:4]:
            if ch in rules.name_stops or given == 2:
                break
            given += 1
        tail = folded[start + surname + given : start + surname + given + 3]
        if given or tail.startswith(("...", "…")):
            found.append(Span(start, start + surname + given, PiiType.NAME))
    return found


def _truncated_tail(folded: str, taken: list[Span]) -> Span | None:
    """The id-like tail of a text cut by the site (``...电话138 0013 80...``)."""
    if not folded[-8:].rstrip().endswith(("...", "…")):
        return None
    stripped = folded.rstrip()
    if stripped.endswith("..."):
        end = len(stripped) - 3
    elif stripped.endswith("…"):
        end = len(stripped.rstrip("…"))
    else:
        return None
    match = _TRUNCATION_TAIL.search(folded, max(0, end - 40), end)
    if match is None:
        return None
    start = match.start()
    while start < end and folded[start] in " .-":
        start += 1
    tail = folded[start:end]
    if not tail or _overlaps(taken, start, end):
        return None
    digits = sum(ch.isdigit() for ch in tail)
    cue = _cue(folded, start)
    if digits >= 6 or "@" in tail or (cue and cue != "sn" and sum(c.isalnum() for c in tail) >= 3):
        return Span(start, end, PiiType.PARTIAL)
    return None


def _overlaps(spans: list[Span], start: int, end: int) -> bool:
    return any(s.start < end and start < s.end for s in spans)


_DIGITS5 = re.compile(r"[0-9](?:[ -]{0,2}[0-9]){4}")


def could_hold_pii(text: str) -> bool:
    """A cheap test on the text as it is: False means :func:`find_pii` would find nothing.

    Every kind needs five digits, an ``@`` or a WeChat/name cue; a text with a traditional or
    full-width character is always looked at, after folding.
    """
    rules = _rules()
    return bool(
        _DIGITS5.search(text)
        or "@" in text
        or rules.needs_fold.search(text)
        or rules.letter_cues.search(text)
    )


_REVEALING_SPACES = re.compile(r"[ \u3000\xa0]{3}")


def may_reveal_more(text: str) -> bool:
    """Whether normalizing ``text`` (``pipeline.text.clean_text``) could show personal data
    that :func:`find_pii` does not see in ``text`` itself: markup or entities that split a
    number, characters whose normal form is several characters, runs of whitespace."""
    if text.isascii():
        return "<" in text or "&" in text or "\t" in text or "   " in text
    return bool(
        "<" in text
        or "&" in text
        or _rules().expands.search(text)
        or _REVEALING_SPACES.search(text)
    )


def find_pii(text: str, *, protect: Collection[str] = ()) -> list[Span]:
    """Every piece of personal data in ``text``, as non-overlapping spans in text order.

    ``protect`` holds digit strings never to mask (the complaint's own ``sn``).
    """
    rules = _rules()
    if text.isascii():
        folded = text
    elif rules.needs_fold.search(text):
        folded = fold(text)
    else:
        folded = text
    digits = _DIGITS5.search(folded) is not None
    at = "@" in folded
    cued = rules.letter_cues.search(folded) is not None  # a WeChat or name cue
    if not (digits or at or cued):
        return []
    spans: list[Span] = []
    if at:
        spans.extend(Span(m.start(), m.end(), PiiType.EMAIL) for m in _EMAIL.finditer(folded))
    for match in rules.wechat.finditer(folded) if cued else ():
        start, end = match.span("v")
        cue = match.start("cue")
        if (
            cue
            and folded[cue].isascii()
            and folded[cue - 1].isascii()
            and folded[cue - 1].isalpha()
        ):
            continue  # "dvx": letters of a word, not a cue
        if not _overlaps(spans, start, end) and not _NOT_WECHAT_ID.match(match.group("v")):
            spans.append(Span(start, end, PiiType.WECHAT))
    if cued and not folded.isascii():
        for span in _names(folded):
            if not _overlaps(spans, span.start, span.end):
                spans.append(span)
    if digits:
        spans.extend(_digit_runs(folded, protect, spans))
    tail = _truncated_tail(folded, spans)
    if tail is not None:
        spans.append(tail)
    spans.sort(key=lambda s: s.start)
    return spans


# --- masking ------------------------------------------------------------------------------


def mask_text(text: str, *, protect: Collection[str] = ()) -> tuple[str, list[PiiType]]:
    """``text`` with every piece of personal data replaced by its placeholder, and the kinds
    replaced (one entry per piece)."""
    if len(text) < 5 or (text.isdigit() and (len(text) < 11 or text in protect)):
        return text, []  # a bare number of up to 10 digits is nothing without a cue
    spans = find_pii(text, protect=protect)
    if not spans:
        return text, []
    out = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(PLACEHOLDERS[span.kind])
        pos = span.end
    out.append(text[pos:])
    return "".join(out), [s.kind for s in spans]


def count_kinds(kinds: Iterable[PiiType]) -> dict[str, int]:
    """Counts per kind, every kind present (zero when none), in :data:`PII_TYPES` order."""
    counts = dict.fromkeys(_KIND_NAMES.values(), 0)
    for kind in kinds:
        counts[_KIND_NAMES[kind]] += 1
    return counts


# PiiType -> its value, without the enum's property lookup per row (count_kinds runs per post).
_KIND_NAMES: dict[PiiType, str] = {kind: kind.value for kind in PII_TYPES}
