from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline.ingest import run_ingest
from pipeline.settings import Paths
from pipeline.warehouse import COMPLAINTS_SCHEMA
from tests.conftest import make_record, write_jsonl
from tousu.cli import cli


def _malformed_file(path: Path) -> Path:
    write_jsonl(
        path,
        [
            make_record(sn="17390000001"),  # 1 good
            '{"site": "heimao", "sn": ',  # 2 invalid JSON
            make_record(sn="17390000002", body="商家拒不退款"),  # 3 good
            ["a", "list"],  # 4 not an object
            {k: v for k, v in make_record(sn="17390000004").items() if k != "merchant_name"},  # 5
            make_record(sn="17390000005", created_at="1990-01-01"),  # 6 absurd date
            make_record(sn="17390000006", amount_yuan="9999999999元"),  # 7 absurd amount
            make_record(sn="17390000007", title="", body=""),  # 8 empty text
            make_record(sn="17390000008", body_truncated="maybe"),  # 9 wrong type
            make_record(
                sn="17390000009", title="<b></b>", body="&nbsp;<br>"
            ),  # 10 empty once cleaned
        ],
    )
    with path.open("ab") as handle:
        handle.write(b'{"title": "\xff\xfe"}\n')  # 11 not UTF-8
    return path


EXPECTED_REJECTS = {
    2: "invalid_json",
    4: "not_object",
    5: "missing_field",
    6: "absurd_date",
    7: "absurd_amount",
    8: "empty_text",
    9: "wrong_type",
    10: "empty_text",
    11: "not_utf8",
}


def test_bad_lines_go_to_rejects_with_line_and_reason(paths: Paths, tmp_path: Path) -> None:
    raw = _malformed_file(tmp_path / "incoming.jsonl")
    summary = run_ingest(paths, [raw])
    assert summary.loaded == 2
    assert sum(summary.rejected.values()) == len(EXPECTED_REJECTS)
    rejects_files = list(paths.rejects.glob("*.jsonl"))
    assert len(rejects_files) == 1
    entries = [
        json.loads(line) for line in rejects_files[0].read_text(encoding="utf-8").splitlines()
    ]
    assert {e["line"]: e["reason"] for e in entries} == EXPECTED_REJECTS
    assert all(e["file"] == str(raw) and e["message"] for e in entries)
    # The original line is kept so nothing is lost: as text, or as bytes when not UTF-8.
    assert next(e for e in entries if e["line"] == 2)["text"] == '{"site": "heimao", "sn": '
    assert "bytes_b64" in next(e for e in entries if e["line"] == 11)
    rows = duckdb.sql(
        f"SELECT sn, source_line FROM read_parquet('{paths.complaints}') ORDER BY sn"
    ).fetchall()
    assert rows == [("17390000001", 1), ("17390000002", 3)]


def test_cli_reports_counts(paths: Paths, tmp_path: Path) -> None:
    raw = _malformed_file(tmp_path / "incoming.jsonl")
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.data_dir), "ingest", str(raw)])
    assert result.exit_code == 0, result.output
    assert f"{raw}: 2 loaded, 9 rejected" in result.output
    assert "invalid_json 1" in result.output and "empty_text 2" in result.output
    assert "2 complaints in" in result.output


def test_rerun_adds_nothing_twice(paths: Paths) -> None:
    raw = write_jsonl(
        paths.raw_site("heimao") / "run1.jsonl",
        [make_record(sn=f"1739000000{i}") for i in range(5)],
    )
    first = run_ingest(paths)
    second = run_ingest(paths)
    assert first.rows == second.rows == 5
    assert second.files[0].skipped and second.loaded == 0
    # A second crawl run seeing the same complaints (newer fetch) replaces, not duplicates.
    write_jsonl(
        raw.with_name("run2.jsonl"),
        [make_record(sn="17390000001", status=7, fetched_at="2026-11-21T08:00:00+00:00")],
    )
    third = run_ingest(paths)
    assert third.rows == 5 and third.duplicates == 1
    status = duckdb.sql(
        f"SELECT status FROM read_parquet('{paths.complaints}') WHERE sn = '17390000001'"
    ).fetchall()
    assert status == [(7,)]


def test_cleaning_and_resolution(paths: Paths, tmp_path: Path) -> None:
    raw = write_jsonl(
        tmp_path / "x.jsonl",
        [
            make_record(
                sn="17390000001",
                title="<span class='hl'>退款</span>难　ＡＢＣ",
                body="在快手直播间买的衣服，&amp;商家不退款  。\n\n\n\n第二段",
                merchant_name="鑫盛服饰专营店",
            ),
            make_record(sn="17390000002", merchant_name="拼多多平台", body="无平台线索"),
        ],
    )
    run_ingest(paths, [raw])
    rows = duckdb.sql(
        f"SELECT title, body, merchant, platform FROM read_parquet('{paths.complaints}') ORDER BY sn"
    ).fetchall()
    assert rows[0] == (
        "退款难 ABC",
        "在快手直播间买的衣服,&商家不退款 。\n\n第二段",
        "鑫盛服饰专营店",
        "快手",
    )
    assert rows[1][2:] == ("拼多多", "拼多多")


# --- personal data -------------------------------------------------------------------------

ID_CARD = "11010519900307005X"
BANK = "6222021234567894"
PLANTED_VALUES = [
    "13800138000",
    "139 1234 5678",
    "１３７００１３７０００",
    "+86-136-1234-5678",
    "010-87654321",
    ID_CARD,
    BANK,
    "wang.wei@163.com",
    "260503-123456789012345",
    "SF1234567890123",
    "88776655",
    "wxid_abcdef1234",
    "13522224444",
    "王晓明",
    "13511112222",
    "13522223333",
]


def _pii_records() -> list[dict[str, Any]]:
    summary = "订单号260503-123456789012345,电话13800138000,一直不发货..."
    return [
        make_record(
            sn="17390000001",
            title="急!电话13800138000,订单号260503-123456789012345",
            body=(
                "收件人：王晓明，手机１３７００１３７０００，备用139 1234 5678。\n"
                f"身份证{ID_CARD}，退款请打到{BANK}。邮箱wang.wei@163.com，QQ：88776655，"
                "微信号：wxid_abcdef1234。顺丰单号SF1234567890123。座机010-87654321，"
                "+86-136-1234-5678。投诉编号17390000001，¥2,399，2026-05-03下单，5月3日发货。"
            ),
            timeline=[
                {
                    "status": "发起投诉",
                    "at": "2026-04-27T09:17:12Z",
                    "actor": "用户5218",
                    "text": "同上",
                },
                {
                    "status": "商家已回复",
                    "at": "2026-04-28T09:17:12Z",
                    "actor": "拼多多客户服务",
                    "text": "您好,请拨打13511112222联系专员,已为您登记",
                },
            ],
            raw={
                "main": {
                    "sn": "17390000001",
                    "summary": summary,
                    "cost": "2,399元",
                    # The complaint's own address, as the list API writes it (no scheme).
                    "url": "//tousu.sina.com.cn/complaint/view/17390000001/?sld=5d128d25a730ea4521701461",
                    "share_url": "https://example.com/share?tel=13522224444",
                },
                "author": {"title": "热心喵", "uid": "5218", "mobile": "13522223333"},
                "mobile": "13522223333",
            },
            issue="虚假发货,客服电话13511112222打不通",
            url="https://tousu.sina.com.cn/complaint/view/17390000001/?sld=5d128d25a730ea4521701461",
        ),
        # A number split by markup: the original cannot be masked with certainty.
        make_record(sn="17390000002", title="<b>电话138</b>00138000", body="商家不发货,2399元"),
    ]


def _all_strings(paths: Paths) -> list[str]:
    table = pq.read_table(paths.complaints)
    out: list[str] = []
    for column in table.columns:
        for value in column.to_pylist():
            out.append(json.dumps(value, ensure_ascii=False, default=str))
    return out


def test_no_planted_personal_data_reaches_the_warehouse(paths: Paths, tmp_path: Path) -> None:
    raw = write_jsonl(tmp_path / "pii.jsonl", _pii_records())
    summary = run_ingest(paths, [raw])
    assert summary.loaded == 2
    everything = "\n".join(_all_strings(paths))
    for value in PLANTED_VALUES:
        assert value not in everything, value
    # Amounts, dates and the sn survive.
    for kept in ("¥2,399", "2026-05-03", "5月3日", "投诉编号17390000001", "2,399元", "2399元"):
        assert kept in everything, kept
    rows = {
        r["sn"]: r
        for r in duckdb.sql(f"SELECT * FROM read_parquet('{paths.complaints}')")
        .to_arrow_table()
        .to_pylist()
    }
    first = rows["17390000001"]
    assert first["title"] == "急!电话[PHONE],订单号[ORDER]"
    assert first["title_original"] == "急!电话[PHONE],订单号[ORDER]"
    assert first["body_original"].startswith("收件人：[NAME]，手机[PHONE]，备用[PHONE]。")
    assert first["body"].startswith("收件人:[NAME],手机[PHONE],备用[PHONE]。")
    assert first["pii"]["phone"] == 5 and first["pii"]["name"] == 1
    assert first["pii"]["id_card"] == first["pii"]["bank_card"] == first["pii"]["email"] == 1
    assert first["pii_masked"] > sum(first["pii"].values())  # timeline, tags and raw too
    timeline = json.loads(first["timeline"])
    assert [s["actor"] for s in timeline] == ["[USER]", "拼多多客户服务"]
    assert "[PHONE]" in timeline[1]["text"]
    assert first["issue"] == ["虚假发货", "客服电话[PHONE]打不通"]
    payload = json.loads(first["raw"])
    assert "author" not in payload and "mobile" not in payload
    assert payload["main"]["summary"] == "订单号[ORDER],电话[PHONE],一直不发货..."
    # The row's own url is stored as is, so its copy in the payload is too; any other
    # address is masked like any other string.
    assert payload["main"]["url"] == first["url"].removeprefix("https:")
    assert payload["main"]["share_url"] == "https://example.com/share?tel=[PHONE]"
    second = rows["17390000002"]
    assert second["title"] == "电话[PHONE]" and second["title_original"] is None
    assert second["body_original"] == "商家不发货,2399元"
    assert summary.files[0].originals_dropped == 1


def test_table_schema_is_the_documented_one(paths: Paths, tmp_path: Path) -> None:
    run_ingest(paths, [write_jsonl(tmp_path / "a.jsonl", [make_record()])])
    written = pq.read_schema(paths.complaints)
    assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in COMPLAINTS_SCHEMA]


# --- grouping ------------------------------------------------------------------------------

STORY = (
    "在拼多多鑫盛数码专营店买的手机,付款半个月了一直不发货,联系客服也不回复消息,"
    "申请退款被拒绝,说已经发货了,可是物流信息一直没有更新。"
)


def _grouping_records() -> list[dict[str, Any]]:
    return [
        # One post filed against a shop and its platform: consecutive sn, same text.
        make_record(
            sn="17390000100", title="手机不发货", body=STORY, merchant_name="鑫盛数码专营店"
        ),
        make_record(
            sn="17390000101", title="手机不发货", body=STORY, merchant_name="拼多多客户服务"
        ),
        # An unrelated post in between.
        make_record(
            sn="17390000102",
            title="面膜过敏",
            body="在抖音直播间买的面膜,用了两天脸就过敏了,商家说是个人体质问题不给退。",
            merchant_name="悦享美妆小店",
        ),
        # The same complaint posted again later with small edits, against the platform's
        # other account.
        make_record(
            sn="17390005000",
            title="再次投诉:手机不发货",
            body="第二次投诉了," + STORY.replace("商家", "店家") + "到现在还是没有处理结果。",
            merchant_name="拼多多",
            created_at="1778281432",
        ),
        # Same text as the first post but far away in sn: a re-post, not the same post.
        make_record(
            sn="17390009000",
            title="手机不发货",
            body=STORY,
            merchant_name="鑫盛数码专营店",
            created_at="1779281432",
        ),
    ]


def _groups(paths: Paths) -> dict[str, tuple[Any, ...]]:
    rows = duckdb.sql(
        f"""SELECT sn, post_id, post_size, post_merchants, dup_group, dup_size, is_post_primary,
                   is_dup_primary, counts_in_rankings
            FROM read_parquet('{paths.complaints}')"""
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_posts_and_near_duplicates_are_grouped(paths: Paths, tmp_path: Path) -> None:
    summary = run_ingest(paths, [write_jsonl(tmp_path / "g.jsonl", _grouping_records())])
    g = _groups(paths)
    first = "heimao:17390000100"
    assert g["17390000100"] == (first, 2, ["鑫盛数码专营店", "拼多多"], first, 3, True, True, True)
    assert g["17390000101"] == (
        first,
        2,
        ["鑫盛数码专营店", "拼多多"],
        first,
        3,
        False,
        False,
        True,
    )
    assert g["17390000102"][:2] == ("heimao:17390000102", 1)
    assert g["17390000102"][3:] == ("heimao:17390000102", 1, True, True, True)
    # The re-posts join the first post's cluster and add nothing to a merchant's count.
    assert g["17390005000"] == ("heimao:17390005000", 1, ["拼多多"], first, 3, True, False, False)
    assert g["17390009000"] == (
        "heimao:17390009000",
        1,
        ["鑫盛数码专营店"],
        first,
        3,
        True,
        False,
        False,
    )
    assert summary.groups is not None
    assert (summary.groups.posts, summary.groups.multi_merchant_posts) == (4, 1)
    assert (summary.groups.clusters, summary.groups.reposts) == (1, 2)
    # Rankings: one per (complaint, merchant); datasets: one per post or per complaint.
    counts = duckdb.sql(
        f"""SELECT count(*) FILTER (WHERE counts_in_rankings), count(*) FILTER (WHERE is_post_primary),
                   count(*) FILTER (WHERE is_dup_primary)
            FROM read_parquet('{paths.complaints}')"""
    ).fetchall()
    assert counts == [(3, 4, 2)]


def test_grouping_spans_files_whatever_order_they_arrive_in(paths: Paths, tmp_path: Path) -> None:
    records = _grouping_records()
    early = write_jsonl(tmp_path / "early.jsonl", records[:3])
    late = write_jsonl(tmp_path / "late.jsonl", records[3:])
    run_ingest(paths, [late])
    run_ingest(paths, [late, early])  # incremental: only early.jsonl is read
    incremental = _groups(paths)
    other = Paths(tmp_path / "other")
    run_ingest(other, [early, late])
    assert incremental == _groups(other)
    assert incremental["17390009000"][3] == "heimao:17390000100"


def test_short_texts_never_cluster(paths: Paths, tmp_path: Path) -> None:
    records = [
        make_record(sn="17390000001", title="不发货", body="一直不发货"),
        make_record(sn="17390003000", title="不发货", body="一直不发货", created_at="1778281432"),
    ]
    run_ingest(paths, [write_jsonl(tmp_path / "s.jsonl", records)])
    g = _groups(paths)
    assert g["17390000001"][3] == "heimao:17390000001"
    assert g["17390003000"][3] == "heimao:17390003000"


def test_platform_comes_from_the_merchants_other_posts(paths: Paths, tmp_path: Path) -> None:
    shop = "鑫盛数码专营店"
    records = [
        make_record(sn=f"1739000010{i}", merchant_name=shop, body=f"在快手小店买的第{i}个东西坏了")
        for i in range(3)
    ]
    records.append(make_record(sn="17390000200", merchant_name=shop, body="东西坏了不给退"))
    run_ingest(paths, [write_jsonl(tmp_path / "p.jsonl", records)])
    rows = duckdb.sql(
        f"SELECT sn, platform, platform_source FROM read_parquet('{paths.complaints}') ORDER BY sn"
    ).fetchall()
    assert rows[-1] == ("17390000200", "快手", "merchant")
    assert {r[2] for r in rows[:-1]} == {"text"}


# --- files, workers, reruns ------------------------------------------------------------------


def test_parallel_chunks_match_a_single_process(
    paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[Any] = []
    for i in range(60):
        lines.append(make_record(sn=f"173900{i:05d}", body=f"第{i}单:电话1380013{i:04d},不发货"))
        if i % 17 == 0:
            lines.append('{"site": "heimao", "sn": ')  # cut short
    raw = write_jsonl(tmp_path / "big.jsonl", lines)
    serial = Paths(tmp_path / "serial")
    run_ingest(serial, [raw], workers=1)
    monkeypatch.setattr("pipeline.ingest.CHUNK_BYTES", 2_000)
    parallel = run_ingest(paths, [raw], workers=2)
    manifest = json.loads(paths.ingest_manifest.read_text(encoding="utf-8"))
    assert len(manifest["files"][str(raw.resolve())]["parts"]) > 3
    columns = "sn, title, body, source_line, post_id, dup_group, pii"
    query = "SELECT {} FROM read_parquet('{}') ORDER BY sn"
    assert (
        duckdb.sql(query.format(columns, paths.complaints)).fetchall()
        == duckdb.sql(query.format(columns, serial.complaints)).fetchall()
    )
    # One rejects file per raw file, with the whole file's line numbers.
    rejects = list(paths.rejects.glob("*.jsonl"))
    assert len(rejects) == 1
    entries = [json.loads(x) for x in rejects[0].read_text(encoding="utf-8").splitlines()]
    assert [e["line"] for e in entries] == [2, 20, 38, 56]
    assert parallel.loaded == 60 and sum(parallel.rejected.values()) == 4


def test_rerun_without_changes_keeps_the_table(paths: Paths, tmp_path: Path) -> None:
    raw = write_jsonl(tmp_path / "a.jsonl", _grouping_records())
    first = run_ingest(paths, [raw])
    stamp = paths.complaints.stat().st_mtime_ns
    second = run_ingest(paths, [raw])
    assert paths.complaints.stat().st_mtime_ns == stamp
    assert (second.rows, second.groups) == (first.rows, first.groups)


def test_cli_reports_grouping_and_masking(paths: Paths, tmp_path: Path) -> None:
    raw = write_jsonl(tmp_path / "g.jsonl", [*_grouping_records(), *_pii_records()])
    result = CliRunner().invoke(cli, ["--data-dir", str(paths.data_dir), "ingest", str(raw)])
    assert result.exit_code == 0, result.output
    assert "6 posts (1 filed against several merchants), 2 re-posts in 1 cluster" in result.output
    assert "personal data masked:" in result.output and "phone" in result.output
