"""The browser viewer of ``redislog serve`` in a real headless Chromium.

Every test drives a real ``redislog serve`` process against a real
redis-server; records are stored by the writer's own script (so live tails
see them), with ids the assertions name.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlparse

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Playwright, sync_playwright

from redislog import tokens
from tests.servers import Server
from tests.support.browser import CAP, Watched, launched, rows, shop_records, state, wait_rows
from tests.support.polling import wait_for
from tests.support.records import ours, push
from tests.support.web import Served, make_token

# The README's screenshots are rewritten when REDISLOG_SCREENSHOTS is set
# (`make screenshots`); other runs take them into a temporary folder.
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


def view(*keys: str, **filters: str) -> str:
    """The view page's path for *keys* and *filters*."""
    return "/view?" + urlencode([*(("key", key) for key in keys), *filters.items()])


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


def test_a_session_expires_with_its_time_or_its_token_and_needs_csrf_to_change_things(
    watched: Watched, serve: Served, client: redis.Redis, key: str
) -> None:
    push(client, key, *now_records(1, 1))
    name = f"writer-{key}"
    _, secret = tokens.create(client, name, "write", keys=key)
    watched.sign_in(serve.base, secret, "/logs")
    page = watched.page
    page.locator("tr.log").first.wait_for()  # the page's own requests are done
    stored = client.keys("redislog:session:*")
    assert stored
    assert all(0 < client.pttl(k) <= 12 * 3600 * 1000 for k in stored)
    assert secret.encode() not in b"".join(client.get(k) or b"" for k in stored)

    # Changing something with the session takes its CSRF token.
    url = f"{serve.base}/api/logs/{quote(key, safe='')}"
    assert page.request.post(url, data={"msg": "no token"}).status == 403
    csrf = page.get_attribute('meta[name="csrf-token"]', "content") or ""
    sent = page.request.post(url, data={"msg": "with it"}, headers={"X-CSRF-Token": csrf})
    assert sent.status == 201

    # Revoking the token ends its sessions at once.
    tokens.revoke(client, name)
    page.goto(serve.base + "/logs")
    assert "/signin" in page.url
    # And a session past its time is gone from Redis (its key expires).
    watched.sign_in(serve.base, make_token(client), "/logs")
    page.locator("tr.log").first.wait_for()
    for stale in client.keys("redislog:session:*"):
        client.pexpire(stale, 1)
    wait_for(lambda: not client.keys("redislog:session:*"), 10, what="the sessions to expire")
    page.goto(serve.base + "/logs")
    assert "/signin" in page.url
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


# -- filters, older records, a record's JSON -------------------------------------------


def test_filters_narrow_the_view_and_the_url_reopens_it(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str, browser: Browser
) -> None:
    base = time.time()
    push(
        client,
        key,
        ours(1, "starting", ts=base, logger="app"),
        ours(2, "slow query", ts=base + 0.1, levelno=30, logger="app.db", ms=900),
        ours(3, "query timeout", ts=base + 0.2, levelno=40, logger="app.db", ms=5000),
        ours(4, "payment refused", ts=base + 0.3, levelno=40, logger="app.pay", ms=10),
        ours(5, "fast query", ts=base + 0.4, levelno=30, logger="app.db", ms=3),
    )
    watched = signed_in(view(key))
    page = watched.page
    wait_rows(page, lambda ids: len(ids) == 5)
    page.fill("input[name=level]", "warning")
    page.fill("input[name=logger]", "app.db")
    page.fill("input[name=field]", "ms>=100")
    page.press("input[name=field]", "Enter")
    page.wait_for_url("**level=warning**")
    wait_rows(page, lambda ids: ids == ["p:2", "p:3"], what="the filtered rows")
    query = parse_qs(urlparse(page.url).query)
    assert query == {"key": [key], "level": ["warning"], "logger": ["app.db"], "field": ["ms>=100"]}

    # The copied URL, opened afresh, shows the same view with the same bar.
    other = Watched(browser.new_context())
    try:
        other.sign_in(urlparse(page.url)._replace(path="", query="").geturl(), make_token(client),
                      urlparse(page.url)._replace(scheme="", netloc="").geturl())  # fmt: skip
        wait_rows(other.page, lambda ids: ids == ["p:2", "p:3"])
        assert other.page.input_value("input[name=logger]") == "app.db"
        assert other.page.input_value("input[name=field]") == "ms>=100"
        # A live record the filter drops never shows; one it keeps does.
        wait_for(lambda: state(other.page) == "live", 30, what="live")
        push(client, key, ours(6, "cache miss", ts=time.time(), levelno=30, logger="app.cache"))
        push(
            client, key, ours(7, "slow again", ts=time.time(), levelno=30, logger="app.db", ms=700)
        )
        wait_rows(other.page, lambda ids: ids == ["p:2", "p:3", "p:7"])
        # The text filter and "/" to reach it.
        other.page.keyboard.press("/")
        assert other.page.evaluate("document.activeElement.name") == "grep"
        other.page.keyboard.type("TIMEOUT")
        other.page.keyboard.press("Enter")
        other.page.wait_for_url("**grep=TIMEOUT**")
        wait_rows(other.page, lambda ids: ids == [], what="case-sensitive: no rows")
        assert not other.errors
    finally:
        other.context.close()

    # A filter the API refuses is said in the page.
    page.goto(page.url + "&since=yesterday-ish")
    page.wait_for_selector("#notice:not([hidden])")
    assert "bad time 'yesterday-ish'" in (page.text_content("#notice") or "")
    assert state(page) == "ended"


def test_scrolling_back_loads_older_records(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    push(client, key, *now_records(1, 450))
    watched = signed_in(view(key))
    page = watched.page
    shown = wait_rows(page, lambda ids: len(ids) == 200)
    assert shown == [f"p:{i}" for i in range(251, 451)]
    page.keyboard.press("g")
    wait_rows(page, lambda ids: len(ids) == 400)
    page.keyboard.press("g")
    shown = wait_rows(page, lambda ids: len(ids) == 450)
    assert shown == [f"p:{i}" for i in range(1, 451)]
    wait_for(lambda: page.text_content("#older") == "The oldest record stored", 10, what="end")
    assert not watched.errors


def test_a_record_shows_its_json_and_its_traceback_folded(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    trace = 'Traceback (most recent call last):\n  File "app.py", line 3\nValueError: bad'
    push(
        client,
        key,
        ours(1, "fine", ts=time.time()),
        ours(2, "it broke", ts=time.time(), levelno=40, exc=trace, exc_type="ValueError",
             user={"id": 7, "name": "ann"}),
    )  # fmt: skip
    watched = signed_in(view(key))
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = watched.page
    wait_rows(page, lambda ids: len(ids) == 2)
    fold = page.locator('.row[data-id="p:2"] details.trace')
    assert fold.get_attribute("open") is None
    assert (fold.locator("summary").text_content() or "").startswith("ValueError")
    assert not fold.locator("pre").is_visible()
    fold.locator("summary").click()
    assert fold.locator("pre").is_visible()
    assert page.locator('.row[data-id="p:2"]').get_attribute("class") == "row lv-error"

    page.click('.row[data-id="p:2"] .msg')
    page.wait_for_selector("#detail:not([hidden])")
    shown = json.loads(page.text_content("#json") or "")
    assert shown == json.loads(client.lindex(key, 0) or b"")
    page.click("#copy")
    wait_for(lambda: page.text_content("#copy") == "Copied", 10, what="copied")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == shown
    page.keyboard.press("Escape")
    assert page.is_hidden("#detail")
    assert not watched.errors


# -- stats ------------------------------------------------------------------------------


def test_stats_chart_stacks_errors_on_top_and_a_bar_opens_its_time(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    base = time.time() - 600
    raws = []
    for minute in range(10):
        for j in range(20):
            i = minute * 100 + j
            # Every level all through the minute, so any bar holds each of them.
            levelno = 40 if j % 3 == 0 else 30 if j % 3 == 1 else 20
            raws.append(
                ours(i, ts=base + minute * 60 + j * 3, levelno=levelno, logger=f"app.m{j % 3}")
            )
    push(client, key, *raws)
    watched = signed_in(f"/stats?key={key}")
    page = watched.page
    page.wait_for_selector("body[data-ready=true]")
    bars = page.locator("svg.histogram g.bar")
    assert bars.count() >= 10
    assert page.locator("#loggers tbody tr").count() == 3
    # In a bar with every level, the errors are drawn on top (the smallest y).
    busy = page.locator(
        "svg.histogram g.bar"
        + "".join(f':has(rect[data-level="{name}"])' for name in ("ERROR", "WARNING", "INFO"))
    ).first
    tops = {
        rect.get_attribute("data-level"): float(rect.get_attribute("y") or 0)
        for rect in busy.locator("rect[data-level]").all()
    }
    assert tops["ERROR"] < tops["WARNING"] < tops["INFO"]
    start = float(busy.get_attribute("data-start") or 0)
    every = float(page.get_attribute("svg.histogram", "data-every") or 0)
    times = {
        f"p:{minute * 100 + j}": base + minute * 60 + j * 3
        for minute in range(10)
        for j in range(20)
    }
    inside = {ident for ident, ts in times.items() if start <= ts < start + every}
    busy.click()
    page.wait_for_url("**/view?**")
    query = parse_qs(urlparse(page.url).query)
    assert (query["key"], "since" in query, "until" in query) == ([key], True, True)
    shown = wait_rows(page, lambda ids: set(ids) >= inside and ids, what=f"{sorted(inside)}")
    # Only the bar's records (a record on its end may show too: until includes it).
    assert all(start <= times[ident] <= start + every for ident in shown)
    assert not watched.errors


# -- faults and load ------------------------------------------------------------------


def test_a_redis_restart_shows_a_banner_then_follows_on_without_gap_or_repeat(
    browser: Browser, server_factory: Callable[..., Server], key: str
) -> None:
    server = server_factory()
    client = server.client()
    running = Served(server.url)
    context = browser.new_context()
    try:
        push(client, key, *now_records(1, 3))
        watched = Watched(context)
        watched.sign_in(running.base, make_token(client), view(key))
        page = watched.page
        wait_rows(page, lambda ids: ids == ["p:1", "p:2", "p:3"])
        assert state(page) == "live"

        server.stop()
        page.wait_for_selector("#banner:not([hidden])", timeout=30_000)
        assert "reconnecting" in (page.text_content("#banner") or "").lower()
        assert state(page) == "reconnecting"
        server.start()
        client = server.client()
        # Records logged once the tail is back are shown once each, after the old ones
        # (the session and token went with the unsaved data: the open stream goes on).
        wait_for(lambda: client.zcard(f"{{{key}}}:tails") > 0, 60, what="the tail back")
        push(client, key, *now_records(4, 3))
        shown = wait_rows(page, lambda ids: ids[-1:] == ["p:6"], what="the records after")
        assert shown == ["p:1", "p:2", "p:3", "p:4", "p:5", "p:6"]
        watched.errors.clear()  # the refused connections while Redis was down
    finally:
        context.close()
        running.stop()
        client.close()


HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned = 2">',
    "javascript:window.__pwned = 3",
    '<a href="javascript:window.__pwned=4">click</a>',
    '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=5">'
    "<script>window.__pwned=6</script></svg>",
    "</style><style>body { display: none }</style>\\3c script\\3e",
    "abc\u202edef\u2066ghi",
    "\x1b[2J\x1b]0;title\x07\x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\ \x9b31m",
    "{{constructor.constructor('window.__pwned=7')()}}",
]


def test_hostile_records_show_as_text_and_run_nothing(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    from tests.support.hostile import HOSTILE_ELEMENTS

    evil_key = f"{key}:<img src=x onerror=window.__pwned=8>"
    stored = [
        ours(i, text, ts=time.time(), logger=text, **{text: text, "n": i})
        for i, text in enumerate(HOSTILE, 1)
    ]
    push(client, key, *stored, *HOSTILE_ELEMENTS[:5])
    push(client, evil_key, ours(100, HOSTILE[0], ts=time.time()))
    watched = signed_in(view(key, evil_key))
    page = watched.page
    wait_rows(page, lambda ids: len(ids) >= len(HOSTILE) + 1, what="the hostile rows")
    wait_for(lambda: state(page) == "live", 30, what="live")
    # The same, live.
    push(
        client,
        key,
        *[ours(i + 50, text, ts=time.time(), extra_field=text) for i, text in enumerate(HOSTILE)],
    )
    wait_rows(page, lambda ids: f"p:{50 + len(HOSTILE) - 1}" in ids, what="the live hostile rows")
    page.click('.row[data-id="p:2"] .msg')
    page.wait_for_selector("#detail:not([hidden])")

    text = page.text_content("#rows") or ""
    for payload in HOSTILE[:6]:
        assert payload in text
    assert "\\u202e" in text  # bidi overrides shown as escapes, not applied
    assert "\\x1b]0;title" in text
    for raw in ("\u202e", "\x1b", "\x9b"):
        assert raw not in text
    for tag in ("script", "img", "svg", "a", "style", "iframe"):
        assert page.locator(f"#rows {tag}").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.body.style.display") == ""
    assert page.title().endswith("· redislog")
    # Keys' names are text too, on the logs page as well.
    page.goto(page.url.split("/view")[0] + "/logs")
    page.locator("tr.log").first.wait_for()
    assert evil_key in (page.text_content("#logs") or "")
    assert page.locator("#logs img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert not watched.errors


def test_following_1000_records_a_second_never_holds_more_rows_than_the_cap(
    signed_in: Callable[[str], Watched], client: redis.Redis, key: str
) -> None:
    push(client, key, ours(0, ts=time.time()))
    watched = signed_in(view(key))
    page = watched.page
    wait_for(lambda: state(page) == "live", 30, what="live")
    page.evaluate(
        """() => {
        window.__most = 0;
        const rows = document.getElementById('rows');
        new MutationObserver(() => {
          window.__most = Math.max(window.__most, rows.childElementCount);
        }).observe(rows, { childList: true });
      }"""
    )
    total = 6000
    per_batch = 100
    started = time.monotonic()
    for n, first in enumerate(range(1, total + 1, per_batch)):
        push(client, key, *now_records(first, per_batch))
        # 1,000 a second: each batch of 100 on its tenth of a second.
        delay = started + (n + 1) * per_batch / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    shown = wait_rows(page, lambda ids: ids[-1:] == [f"p:{total}"], timeout=60, what="the last")
    assert shown == [f"p:{i}" for i in range(total - CAP + 1, total + 1)]
    assert page.evaluate("window.__most") <= CAP
    assert page.evaluate("document.querySelectorAll('#rows .row').length") == CAP
    # Still responsive: pausing and resuming work at once.
    page.keyboard.press("Space")
    assert state(page) == "paused"
    page.keyboard.press("Space")
    assert state(page) == "live"
    assert not watched.errors


# -- the README's pictures --------------------------------------------------------------


def test_screenshots_of_the_view_and_the_stats(
    browser: Browser, server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    """The view (two logs, a traceback unfolded, a record's JSON open) and the
    stats page, as PNG files."""
    folder = DOCS if os.environ.get("REDISLOG_SCREENSHOTS") else tmp_path
    server = server_factory()
    client = server.client()
    for name, raws in shop_records(time.time()).items():
        push(client, name, *raws)
    running = Served(server.url)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme="light")
    try:
        watched = Watched(context)
        page = watched.page
        watched.sign_in(running.base, make_token(client), view("logs:shop:web", "logs:shop:worker"))
        wait_rows(page, lambda ids: len(ids) == 200)
        wait_for(lambda: state(page) == "live", 30, what="live")
        failed = page.locator(".row:has(details.trace)").last
        failed.locator("summary").click()
        failed.locator(".msg").click()
        page.wait_for_selector("#detail:not([hidden])")
        failed.scroll_into_view_if_needed()
        folder.mkdir(exist_ok=True)
        page.screenshot(path=str(folder / "view.png"))
        page.goto(running.base + "/stats?key=logs:shop:web")
        page.wait_for_selector("body[data-ready=true]")
        page.screenshot(path=str(folder / "stats.png"), full_page=True)
        assert not watched.errors
        for name in ("view.png", "stats.png"):
            assert (folder / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
    finally:
        context.close()
        running.stop()
        client.close()
