from __future__ import annotations

import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

from pipeline.ingest import run_ingest
from pipeline.settings import Paths
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
