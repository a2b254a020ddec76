"""The browser viewer of ``redislog serve`` in a real headless Chromium.

Every test drives a real ``redislog serve`` process against a real
redis-server; records are stored by the writer's own script (so live tails
see them), with ids the assertions name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.servers import Server
from tests.support.browser import (
    Served,
    Watched,
    launched,
    make_token,
    rows,
    state,
    wait_rows,
)
from tests.support.polling import wait_for
from tests.support.records import ours, push

DOCS = Path(__file__).resolve().parent.parent / "docs"

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    with launched(playwright) as started:
        yield started


@pytest.fixture(scope="module")
def serve(shared_server: Server) -> Iterator[Served]:
    running = Served(shared_server.url)
    yield running
    running.stop()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context)
    yield watched
    context.close()


@pytest.fixture
def signed_in(watched: Watched, serve: Served, client: redis.Redis) -> Callable[[str], Watched]:
    """Sign in with a new read token and open *path*."""

    def open_path(path: str) -> Watched:
        watched.sign_in(serve.base, make_token(client), path)
        return watched

    return open_path


def now_records(start: int, count: int, **fields: object) -> list[bytes]:
    base = time.time()
    return [ours(i, ts=base + (i - start) * 0.001, **fields) for i in range(start, start + count)]


def view(key: str, **filters: str) -> str:
    query = "&".join(f"{name}={value}" for name, value in {"key": key, **filters}.items())
    return f"/view?{query}"


# -- signing in and out -------------------------------------------------------------------


def test_sign_in_lists_the_logs_and_sign_out_ends_the_session(
    watched: Watched, serve: Served, client: redis.Redis, key: str
) -> None:
    push(client, key, *now_records(1, 3))
    page = watched.page
    page.goto(serve.base + "/logs")
    assert "/signin" in page.url
    page.fill("#token", "rlt_0000000000000000_" + "x" * 43)
    page.click("#signin button[type=submit]")
    assert page.text_content("#message") == "That token is invalid, revoked or expired."
    watched.errors.clear()  # the refused sign-in's 401, said on the console

    watched.sign_in(serve.base, make_token(client), "/logs")
    cookies = {c["name"]: c for c in watched.context.cookies()}
    session = cookies["redislog_sid"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert not session["value"].startswith("rlt_")
    row = page.locator(f'tr.log[data-key="{key}"]')
    row.wait_for()
    assert row.locator("td").nth(2).text_content() == "3"
    row.locator("a.key").click()
    page.wait_for_url("**/view?key=*")
    wait_rows(page, lambda ids: ids == ["p:1", "p:2", "p:3"])

    # The API answers the session only with its CSRF token on changes.
    post = page.request.post(serve.base + "/signout", form={"csrf": "wrong"})
    assert post.status == 403
    page.click("#signout")
    page.wait_for_url("**/signin")
    page.goto(serve.base + view(key))
    assert "/signin" in page.url
    assert page.request.get(serve.base + "/api/logs").status == 401
    assert not watched.errors


def test_pages_carry_a_strict_policy(serve: Served) -> None:
    for path in ("/signin", "/static/view.js", "/static/viewer.css"):
        response = httpx.get(serve.base + path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(serve.base + "/static/../app.py").status_code == 404
    # A sign-in post without the form's CSRF cookie is refused.
    refused = httpx.post(serve.base + "/signin", data={"csrf": "x", "token": "y"})
    assert refused.status_code == 403


# -- following --------------------------------------------------------------------------


def test_a_live_record_appears_and_pause_holds_it(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    push(client, key, *now_records(1, 2))
    watched = signed_in(view(key))
    page = watched.page
    wait_rows(page, lambda ids: ids == ["p:1", "p:2"])
    wait_for(lambda: state(page) == "live", 30, what="live")
    push(client, key, *now_records(3, 1))
    wait_rows(page, lambda ids: ids[-1:] == ["p:3"], what="the live record")

    page.keyboard.press("Space")
    assert state(page) == "paused"
    push(client, key, *now_records(4, 2))
    wait_for(lambda: "2 new" in (page.text_content("#toggle") or ""), 30, what="the count")
    assert rows(page)[-1] == "p:3"
    page.click("#toggle")
    wait_rows(page, lambda ids: ids == ["p:1", "p:2", "p:3", "p:4", "p:5"])
    assert state(page) == "live"
    assert not watched.errors
