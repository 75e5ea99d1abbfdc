"""The 聚投诉 spider against the simulator: full text through the post key, login handling."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from crawler.sim.jutousu import JutousuView
from crawler.sim.server import ServerOptions, SimServer
from tests.conftest import crawl_cli, raw_records

COOKIE = "JSESSIONID=test-session"


def _crawl(data: Path, base_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return crawl_cli(data, "jutousu", base_url, *extra)


def _records(data: Path) -> list[dict[str, Any]]:
    return raw_records(data / "raw" / "jutousu")


def _lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def test_crawl_gets_every_post_once_with_its_full_text(small_market: Any, tmp_path: Path) -> None:
    view = JutousuView(small_market)
    with SimServer(small_market, ServerOptions(site="jutousu", login_cookie=COOKIE)) as server:
        done = _crawl(tmp_path / "data", server.base_url, "--cookies", COOKIE)
        assert done.returncode == 0, done.stderr[-3000:]
        assert server.stats.get("login_page", 0) == 0
    records = _records(tmp_path / "data")
    sns = [r["sn"] for r in records]
    assert len(sns) == len(set(sns)) == len(view.posts)
    for record in records:
        entry = view.posts[int(record["sn"])]
        assert record["site"] == "jutousu" and not record["body_truncated"]
        assert record["body"] == _lines(entry.post.text.body)
        assert record["merchant_name"] == entry.post.merchant.name
        assert record["merchant_id"] == str(entry.merchant_id)
        assert record["issue"] == list(entry.post.text.issue)
        assert record["url"].endswith(f"/tousu/show/id/{entry.post_id}")


def test_an_expired_session_stops_the_crawl_clearly_and_a_new_one_resumes(
    small_market: Any, tmp_path: Path
) -> None:
    view = JutousuView(small_market)
    options = ServerOptions(site="jutousu", login_cookie=COOKIE, session_requests=150)
    with SimServer(small_market, options) as server:
        first = _crawl(tmp_path / "data", server.base_url, "--cookies", COOKIE)
        assert first.returncode == 1
        assert "登录聚投诉" in first.stdout + first.stderr and "--cookies" in first.stderr
        assert "finish reason: login_required" in first.stdout
        written = len(_records(tmp_path / "data"))
        assert 0 < written < len(view.posts)
        server.app._served = 0  # type: ignore[attr-defined]  # logged in again
        server.httpd.options = ServerOptions(site="jutousu", login_cookie=COOKIE)
        server.app.options = server.httpd.options  # type: ignore[attr-defined]
        second = _crawl(tmp_path / "data", server.base_url, "--cookies", COOKIE)
        assert second.returncode == 0, second.stderr[-3000:]
    sns = [r["sn"] for r in _records(tmp_path / "data")]
    assert len(sns) == len(set(sns)) == len(view.posts)


def test_without_a_cookie_nothing_is_lost_silently(small_market: Any, tmp_path: Path) -> None:
    with SimServer(small_market, ServerOptions(site="jutousu", login_cookie=COOKIE)) as server:
        done = _crawl(tmp_path / "data", server.base_url)
    assert done.returncode == 1 and "login_required" in done.stdout
    assert _records(tmp_path / "data") == []
