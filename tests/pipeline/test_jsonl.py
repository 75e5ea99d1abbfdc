from __future__ import annotations

import json
from pathlib import Path

from pipeline.jsonl import JsonlWriter, iter_lines, recover_partial


def test_writer_renames_on_close(tmp_path: Path) -> None:
    target = tmp_path / "run.jsonl"
    writer = JsonlWriter(target)
    writer.write({"a": "中文"})
    assert not target.exists() and writer.part_path.exists()
    writer.close()
    assert target.exists() and not writer.part_path.exists()
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "中文"}


def test_empty_writer_leaves_no_file(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "empty.jsonl")
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_recover_partial_keeps_complete_lines(tmp_path: Path) -> None:
    part = tmp_path / "killed.jsonl.part"
    part.write_bytes(b'{"n": 1}\n{"n": 2}\n{"n": 3, "cut')
    recovered = recover_partial(tmp_path)
    assert recovered == [tmp_path / "killed.jsonl"]
    assert [json.loads(line.text or "") for line in iter_lines(recovered[0])] == [
        {"n": 1},
        {"n": 2},
    ]
    assert not part.exists()


def test_iter_lines_reports_bad_bytes_per_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"ok": 1}\n\n\xff\xfe bad\n{"ok": 2}\n')
    lines = list(iter_lines(path))
    assert [line.line_no for line in lines] == [1, 3, 4]
    assert lines[1].text is None and lines[1].raw.startswith(b"\xff")


def test_recovery_leaves_a_live_writer_alone(tmp_path: Path) -> None:
    live = JsonlWriter(tmp_path / "live.jsonl")
    live.write({"n": 1})
    assert recover_partial(tmp_path) == []
    assert live.part_path.exists()
    live.write({"n": 2})
    live.close()
    assert [json.loads(line.text or "") for line in iter_lines(tmp_path / "live.jsonl")] == [
        {"n": 1},
        {"n": 2},
    ]
