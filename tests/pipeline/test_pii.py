from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import pytest

from crawler.sim.marketplace import Marketplace, SimConfig
from pipeline.pii import (
    PII_TYPES,
    PLACEHOLDERS,
    PiiType,
    count_kinds,
    find_pii,
    id_card_ok,
    luhn_ok,
    mask_text,
)
from pipeline.warehouse import PII_COUNT_FIELDS

SN = "17380012345"
ID_X = "11010519900307005X"  # valid check character X
ID_DIGIT = "440305198512310026"
BANK_16 = "6222021234567894"  # Luhn-valid
BANK_19 = "6217001234567890122"


def test_check_digits_are_verified() -> None:
    assert id_card_ok(ID_X) and id_card_ok(ID_X.lower()) and id_card_ok(ID_DIGIT)
    assert not id_card_ok(ID_DIGIT[:-1] + "7")  # wrong check character
    assert mask_text(f"编号{ID_DIGIT}")[1] == [PiiType.ID_CARD]  # valid: no cue needed
    assert not id_card_ok("110105199013071234")  # month 13
    assert luhn_ok(BANK_16) and luhn_ok(BANK_19)
    assert not luhn_ok(BANK_16[:-1] + "5")


PLANTED: list[tuple[str, str, PiiType]] = [
    # mobile phones: plain, spaced, dashed, +86, 0086, full-width, dotted into a sentence
    ("我的电话13800138000，请联系", "13800138000", PiiType.PHONE),
    ("手机：138 0013 8000", "138 0013 8000", PiiType.PHONE),
    ("打138-0013-8000找我", "138-0013-8000", PiiType.PHONE),
    ("联系方式+86 13912345678。", "+86 13912345678", PiiType.PHONE),
    ("电话+86-139-1234-5678", "+86-139-1234-5678", PiiType.PHONE),
    ("号码 0086 13912345678", "0086 13912345678", PiiType.PHONE),
    ("手机１３９１２３４５６７８，谢谢", "１３９１２３４５６７８", PiiType.PHONE),
    ("手機：１３９－１２３４－５６７８", "１３９－１２３４－５６７８", PiiType.PHONE),
    ("2026-05-03 13800138000 打过", "13800138000", PiiType.PHONE),  # no cue, beside a date
    # landlines
    ("座机010-87654321", "010-87654321", PiiType.PHONE),
    ("电话0755-8765432转", "0755-8765432", PiiType.PHONE),
    ("(0571)87654321", "(0571)87654321", PiiType.PHONE),
    ("（０２０）８７６５４３２１", "（０２０）８７６５４３２１", PiiType.PHONE),
    ("固话 021 87654321", "021 87654321", PiiType.PHONE),
    # resident ids, X or digit last, spaced, full-width, without a cue
    (f"身份证号{ID_X}", ID_X, PiiType.ID_CARD),
    (f"身份证:{ID_X.lower()}", ID_X.lower(), PiiType.ID_CARD),
    (f"实名信息 {ID_DIGIT} 已提交", ID_DIGIT, PiiType.ID_CARD),
    ("证件号110105 19900307 005X", "110105 19900307 005X", PiiType.ID_CARD),
    (
        "身份证：１１０１０５１９９００３０７００５Ｘ",
        "１１０１０５１９９００３０７００５Ｘ",
        PiiType.ID_CARD,
    ),
    # bank cards (Luhn), grouped by four, with or without a cue
    (f"银行卡号{BANK_19}", BANK_19, PiiType.BANK_CARD),
    ("款项请打到6222 0212 3456 7894这张卡", "6222 0212 3456 7894", PiiType.BANK_CARD),
    (f"退到{BANK_16}", BANK_16, PiiType.BANK_CARD),
    # e-mail
    ("邮箱abc123@163.com,有结果请通知", "abc123@163.com", PiiType.EMAIL),
    ("结果请发到 12345678@qq.com", "12345678@qq.com", PiiType.EMAIL),
    ("ｍａｉｌ：ｔｏｍ＠ｇｍａｉｌ．ｃｏｍ", "ｔｏｍ＠ｇｍａｉｌ．ｃｏｍ", PiiType.EMAIL),
    # order numbers: cued, dated, letter-prefixed, bare long numbers
    ("订单号：260503-123456789012345", "260503-123456789012345", PiiType.ORDER_NO),
    ("订单编号 3123456789012345678", "3123456789012345678", PiiType.ORDER_NO),
    ("订单号是DD20260503123456", "DD20260503123456", PiiType.ORDER_NO),
    ("E123456789012345678 这一单", "E123456789012345678", PiiType.ORDER_NO),
    ("2123456789012：付款后不发货", "2123456789012", PiiType.ORDER_NO),
    # tracking numbers
    ("顺丰单号SF1234567890123", "SF1234567890123", PiiType.TRACKING_NO),
    ("快递单号：YT1234567890123", "YT1234567890123", PiiType.TRACKING_NO),
    ("中通单号 78123456789012", "78123456789012", PiiType.TRACKING_NO),
    ("给的单号是4312345678901", "4312345678901", PiiType.TRACKING_NO),
    # QQ and WeChat, only when introduced as such
    ("QQ：12345678", "12345678", PiiType.QQ),
    ("我的QQ号码是 987654321", "987654321", PiiType.QQ),
    ("扣扣１２３４５６", "１２３４５６", PiiType.QQ),
    ("微信号：abc_12345", "abc_12345", PiiType.WECHAT),
    ("加vx wxid_abcdef1234 可以联系我", "wxid_abcdef1234", PiiType.WECHAT),
    ("V信Tom-2024，加我", "Tom-2024", PiiType.WECHAT),
    ("我的微信是13800138000", "13800138000", PiiType.WECHAT),
    # names after cues
    ("收件人：王伟，电话", "王伟", PiiType.NAME),
    ("收件人张晓明电话", "张晓明", PiiType.NAME),
    ("买家姓名：欧阳娜娜。", "欧阳娜娜", PiiType.NAME),
    ("本人叫李静", "李静", PiiType.NAME),
    ("联系人：陈先生", "陈先生", PiiType.NAME),
    ("收貨人：陳偉", "陳偉", PiiType.NAME),
]


@pytest.mark.parametrize(("text", "value", "kind"), PLANTED)
def test_every_kind_is_masked_in_varied_formats(text: str, value: str, kind: PiiType) -> None:
    masked, kinds = mask_text(text, protect=(SN,))
    assert value not in masked
    assert PLACEHOLDERS[kind] in masked, masked
    assert kind in kinds
    # The rest of the text is untouched.
    start = text.index(value)
    assert masked.startswith(text[:start]) and masked.endswith(text[start + len(value) :])


KEPT = [
    "金额¥2,399，实付2399元，另付1,299.50元，共计3698.5元",
    "2026-05-03下单，5月3日发货，20260503到货，2026/5/3 14:30:00签收，2026年5月3日 14:30",
    f"投诉编号{SN}，投诉编号：17380012346",
    f"关于您的投诉{SN}，我们已处理",
    "华为Mate 60 Pro 512G，iPhone 15 Pro Max，型号A2849，RTX4090，SM-G9980，价格6999",
    "打了12315和400-820-8820都没人管，95188也不通",
    "等了15天，3次催单，第2件，7天无理由",
    "我叫了外卖，我叫他退款，收件人是我自己",
    "一直联系不上客服，微信小程序下单，微信支付的",
    "快递2天就到了，订单状态显示已签收",
    "https://tousu.sina.com.cn/complaint/view/17380012346/",
]


@pytest.mark.parametrize("text", KEPT)
def test_amounts_dates_ids_and_models_survive(text: str) -> None:
    assert mask_text(text, protect=(SN,)) == (text, [])


def test_an_invalid_id_is_still_masked_as_a_long_number() -> None:
    text = "我的号码110105199003071230"  # 18 digits, wrong check character
    masked, kinds = mask_text(text)
    assert masked == "我的号码[ORDER]" and kinds == [PiiType.ORDER_NO]


def test_truncated_summary_tail_is_masked() -> None:
    assert mask_text("前面的内容,我的电话138 0013 80...")[0] == "前面的内容,我的电话[PHONE]..."
    assert mask_text("请打款到6222021234...")[0] == "请打款到[PARTIAL]..."
    assert mask_text("收件人王...")[0] == "收件人[NAME]..."
    assert mask_text("实付2399...")[0] == "实付2399..."  # an amount cut short stays


def test_spans_do_not_overlap_and_are_ordered() -> None:
    text = "收件人王伟电话13800138000邮箱wang@163.com订单号123456789012345678"
    spans = find_pii(text)
    assert [s.kind for s in spans] == [
        PiiType.NAME,
        PiiType.PHONE,
        PiiType.EMAIL,
        PiiType.ORDER_NO,
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_counts_cover_every_kind_in_table_order() -> None:
    counts = count_kinds([PiiType.PHONE, PiiType.PHONE, PiiType.NAME])
    assert tuple(counts) == PII_COUNT_FIELDS == tuple(k.value for k in PII_TYPES)
    assert counts["phone"] == 2 and counts["name"] == 1 and counts["email"] == 0


@pytest.fixture(scope="module")
def pii_market() -> Any:
    return Marketplace(SimConfig(seed=4, weeks=12, complaints=3000, merchants=80, exit_scams=0))


def test_simulated_posts_lose_all_planted_data_and_nothing_else(pii_market: Any) -> None:
    planted = 0
    typed = Counter[tuple[str, str]]()
    placeholder = re.compile(r"\[(?:" + "|".join(p[1:-1] for p in PLACEHOLDERS.values()) + r")\]")
    for post in pii_market.posts:
        text = f"{post.text.title}\n{post.text.body}"
        masked, kinds = mask_text(text, protect=(post.sn,))
        for kind, value in post.text.pii:
            planted += 1
            assert value not in masked, (kind, value, masked)
        if not post.text.pii:
            # Precision: a post without planted data keeps every character.
            assert masked == text, masked
        else:
            assert len(placeholder.findall(masked)) == len(kinds)
            typed.update(zip([k for k, _ in post.text.pii], [k.value for k in kinds], strict=False))
    assert planted > 300
    assert {kind for kind, _ in typed} == {k.value for k in PII_TYPES} - {"partial"}


def test_fancy_unicode_digits_are_folded() -> None:
    # Mathematical bold and circled digits, sometimes used to slip past filters.
    masked, kinds = mask_text("电话𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎,微信号𝐚𝐛𝐜_𝟏𝟐𝟑𝟒𝟓")
    assert masked == "电话[PHONE],微信号[WECHAT]" and kinds == [PiiType.PHONE, PiiType.WECHAT]
