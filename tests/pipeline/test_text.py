from __future__ import annotations

import random
import unicodedata
from typing import Any

import pytest

from pipeline.text import clean_text, clean_title, fold, nfkc, to_simplified


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # HTML: tags dropped, line-breaking tags become line breaks, entities decoded.
        ("<span class='hl'>退款</span>难", "退款难"),
        ("第一段<br/>第二段</p><p>第三段", "第一段\n第二段\n第三段"),
        ("A&amp;B &#20320;&#22909; &lt;3", "A&B 你好 <3"),
        ("价格<100元，质量>差", "价格<100元,质量>差"),  # not a tag: kept
        # NFKC: full-width to half-width.
        ("ＡＢＣ１２３，（你好）：", "ABC123,(你好):"),
        # Traditional to simplified.
        ("我在快手直播間買的衣服，商家不發貨", "我在快手直播间买的衣服,商家不发货"),
        # Whitespace: runs inside a line, blank lines, ideographic spaces.
        ("第一行　　 很多  空格 \n\n\n\n第二行 ", "第一行 很多 空格\n\n第二行"),
        # Repeated punctuation folded; the summary mark "..." kept; emoji kept.
        ("太差了！！！？？。。。", "太差了!?。"),
        ("等了好久……", "等了好久..."),
        ("被截断的摘要...", "被截断的摘要..."),
        ("客服不理人😡😡，差评👎", "客服不理人😡😡,差评👎"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_title_is_one_line() -> None:
    assert clean_title(" 退款\n难 <b>急</b>\n") == "退款 难 急"


def test_cleaning_is_idempotent(small_market: Any) -> None:
    texts = [p.text.body for p in small_market.posts[:200]]
    texts += ["電話：１３８　００１３　８０００！！", "<p>a&amp;b</p>……", "ｶﾞｷﾞ ①②"]
    for text in texts:
        once = clean_text(text)
        assert clean_text(once) == once


def test_fast_nfkc_equals_unicodedata() -> None:
    rng = random.Random(3)
    pool = [chr(c) for c in range(0x20, 0x7F)]
    for lo, hi in ((0x2000, 0x27C0), (0x3000, 0x3100), (0x3200, 0x3400), (0xFF00, 0xFFF0)):
        pool += [chr(c) for c in range(lo, hi)]
    pool += [chr(c) for c in (0x300, 0x301, 0x3099, 0xFE0F, 0x200D, 0x1100, 0x1161, 0x1F600)]
    pool += [chr(c) for c in (0x1F100, 0x1F110, 0x1F130, 0x1F190, 0x1F200, 0x1D400)]
    pool += list("拼多多退款难國際")
    for _ in range(20_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)


def test_fold_keeps_length_and_positions() -> None:
    text = "電話：１３８－００１３－８０００，ＱＱ號　12345……"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded.startswith("电话:138-0013-8000,QQ号 12345")
    assert folded.endswith("……")  # one character to three: left alone


def test_to_simplified_leaves_simplified_text_alone() -> None:
    text = "在拼多多买的手机,一直不发货"
    assert to_simplified(text) is text
    assert to_simplified("臺灣買的東西") == "台湾买的东西"
