"""``redislog serve``: a real uvicorn process on a free port, real redis-servers,
an HTTP client (httpx)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from redislog import tokens
from tests.servers import Server
from tests.support import Background, one_line_error, run_cli, wait_for
from tests.support.web import Events, Served, make_token, served


@pytest.fixture(scope="module")
def web(shared_server: Server) -> Iterator[Served]:
    """One serve process on the shared server."""
    with served(shared_server.url) as running:
        yield running


def _post(http: httpx.Client, key: str, body: bytes | str, **headers: str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return http.post(f"/api/logs/{key}", content=content, headers=headers)


def _msgs(response: httpx.Response) -> list[str]:
    return [record["msg"] for record in response.json()["records"]]


# -- health, metrics, headers ---------------------------------------------------------


def test_healthz_and_metrics_need_no_token(web: Served) -> None:
    with web.client() as http:
        health = http.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"redis": "ok"}
        metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in ("redislog_http_requests_total", "redislog_ingested_records_total",
                 "redislog_followers", "redislog_redis_errors_total"):  # fmt: skip
        assert name in metrics.text


def test_every_answer_carries_security_headers_and_cors_stays_closed(web: Served) -> None:
    with web.client() as http:
        response = http.options(
            "/api/logs",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        plain = http.get("/api/logs")
    for answer in (response, plain):
        assert "access-control-allow-origin" not in answer.headers
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in plain.headers["content-security-policy"]
    assert plain.headers["cache-control"] == "no-store"


# -- authentication and scopes ----------------------------------------------------------


def test_no_token_bad_header_and_wrong_secret_are_401(web: Served, client: redis.Redis) -> None:
    secret = make_token(client, "read")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    with web.client() as http:
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": f"Bearer {forged}"},
                        {"Authorization": "Bearer rlt_nonsense"}):  # fmt: skip
            response = http.get("/api/logs", headers=headers)
            assert response.status_code == 401, headers
            assert set(response.json()) == {"error"}
            assert "www-authenticate" in response.headers
            assert secret not in response.text
            assert forged not in response.text
        assert http.get("/api/logs", headers={"Authorization": f"Bearer {secret}"}).is_success


def test_revoked_and_expired_tokens_are_refused(web: Served, client: redis.Redis) -> None:
    secret = make_token(client, "read")
    name = next(t.name for t in tokens.listed(client) if secret.split("_")[1] == t.id)
    with web.client(secret) as http:
        assert http.get("/api/logs").status_code == 200
        tokens.revoke(client, name)
        assert http.get("/api/logs").status_code == 401
    short = make_token(client, "read", ttl=1.0)
    with web.client(short) as http:
        assert http.get("/api/logs").status_code == 200
        wait_for(lambda: http.get("/api/logs").status_code == 401, 10, every=0.2)


def test_scopes_nest_and_a_read_token_cannot_write(
    web: Served, client: redis.Redis, key: str
) -> None:
    reader, writer, admin = (make_token(client, scope) for scope in ("read", "write", "admin"))
    with web.client(reader) as http:
        refused = _post(http, key, '{"msg": "no"}')
        assert refused.status_code == 403
        assert "scope is read" in refused.json()["error"]
    for secret in (writer, admin):
        with web.client(secret) as http:
            assert _post(http, key, '{"msg": "yes"}').status_code == 201
            assert http.get(f"/api/logs/{key}/records").status_code == 200


def test_a_key_pattern_bounds_every_endpoint(web: Served, client: redis.Redis, key: str) -> None:
    billing, auth = f"{key}:billing", f"{key}:auth"
    admin = make_token(client, "admin")
    with web.client(admin) as http:
        for name in (billing, auth):
            assert _post(http, name, f'{{"msg": "in {name}"}}').status_code == 201
    narrow = make_token(client, "write", f"{key}:billing*")
    with web.client(narrow) as http:
        assert http.get(f"/api/logs/{billing}/records").status_code == 200
        for path in (f"/api/logs/{auth}/records", f"/api/logs/{auth}/stats",
                     f"/api/logs/{auth}/follow"):  # fmt: skip
            assert http.get(path).status_code == 403, path
        assert _post(http, auth, '{"msg": "x"}').status_code == 403
        listed = [log["key"] for log in http.get("/api/logs").json()["logs"]]
        assert billing in listed
        assert auth not in listed
        # A glob reaches only what the pattern allows.
        events = Events(web.client(narrow), f"/api/follow?key={key}:*")
        try:
            hello = json.loads(next(d for k, _, d in events.events if k == "hello"))
            assert hello["keys"] == [billing]
        finally:
            events.close()


@pytest.mark.parametrize(
    "name",
    ["redislog:keys", "redislog:tokens", "{logs:x}:tails", "{logs:x}:tail:abc", "logs:{x}:meta",
     "{logs:x}:seen:abc", "{logs:x}:gaps"],
)  # fmt: skip
def test_redislogs_own_keys_are_never_logs(web: Served, client: redis.Redis, name: str) -> None:
    admin = make_token(client, "admin")
    with web.client(admin) as http:
        assert http.get(f"/api/logs/{name}/records").status_code == 403
        assert _post(http, name, '{"msg": "x"}').status_code == 403
        # Percent-encoded, the same name.
        encoded = "".join(f"%{byte:02X}" for byte in name.encode())
        assert http.get(f"/api/logs/{encoded}/records").status_code == 403


def test_tokens_are_stored_hashed(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    redis_client = server.client()
    secret = make_token(redis_client, "write", service="web")
    with served(server.url) as running, running.client(secret) as http:
        assert _post(http, "logs:hashed", '{"msg": "hi"}').status_code == 201
    random_part = secret.split("_", 2)[2]  # rlt_<id>_<random>; the random part may hold "_"
    for name in redis_client.scan_iter():
        dumped = redis_client.dump(name) or b""
        assert secret.encode() not in dumped, name
        assert random_part.encode() not in dumped, name
    stored = redis_client.hgetall(tokens.TOKENS)
    assert len(stored) == 1
    entry = json.loads(next(iter(stored.values())))
    assert len(entry["digest"]) == 64
    assert entry["scope"] == "write"


# -- reading ---------------------------------------------------------------------------


def test_list_logs_shows_what_ls_shows(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", f"{key}*")
    with web.client(secret) as http:
        _post(http, key, "\n".join(f'{{"msg": "m{i}"}}' for i in range(5)))
        logs = http.get("/api/logs").json()["logs"]
    assert [log["key"] for log in logs] == [key]
    log = logs[0]
    assert log["records"] == 5
    assert log["cap"] == 100_000
    assert log["type"] == "list"
    assert log["oldest"] <= log["newest"]
    assert log["memory"] > 0


def test_records_newest_first_with_cursor_pages_and_ndjson(
    web: Served, client: redis.Redis, key: str
) -> None:
    secret = make_token(client, "write", key)
    with web.client(secret) as http:
        body = "\n".join(f'{{"msg": "m{i}", "ts": {1_700_000_000 + i // 3}}}' for i in range(50))
        assert _post(http, key, body).json()["stored"] == 50
        first = http.get(f"/api/logs/{key}/records", params={"limit": 7})
        assert _msgs(first) == [f"m{i}" for i in range(49, 42, -1)]
        seen, cursor = _msgs(first), first.json()["next"]
        while cursor is not None:
            page = http.get(f"/api/logs/{key}/records", params={"limit": 7, "before": cursor})
            seen += _msgs(page)
            cursor = page.json()["next"]
        assert seen == [f"m{i}" for i in range(49, -1, -1)]
        lines = http.get(
            f"/api/logs/{key}/records",
            params={"limit": 3},
            headers={"Accept": "application/x-ndjson"},
        )
        assert lines.headers["content-type"].startswith("application/x-ndjson")
        assert [json.loads(line)["msg"] for line in lines.text.splitlines()] == [
            "m49",
            "m48",
            "m47",
        ]
        assert "x-next-cursor" in lines.headers


def test_records_take_the_command_lines_filters(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    body = "\n".join([
        '{"msg": "started", "level": "info", "logger": "app.web", "user": "ann"}',
        '{"msg": "slow query", "level": "warning", "logger": "app.db", "ms": 900}',
        '{"msg": "Timeout talking to db", "level": "error", "logger": "app.db.pool", "ms": 5000}',
        '{"msg": "done", "level": "info", "logger": "other"}',
    ])  # fmt: skip
    with web.client(secret) as http:
        _post(http, key, body)

        def shown(**params: str | list[str]) -> list[str]:
            response = http.get(f"/api/logs/{key}/records", params=params)
            assert response.status_code == 200, response.text
            return _msgs(response)

        assert shown(level="warning") == ["Timeout talking to db", "slow query"]
        assert shown(logger="app.db") == ["Timeout talking to db", "slow query"]
        assert shown(grep="timeout") == ["Timeout talking to db"]
        assert shown(exclude=["query", "Timeout"], logger="app") == ["started"]
        assert shown(field=["ms>1000"]) == ["Timeout talking to db"]
        assert shown(field=["user=ann"]) == ["started"]
        assert shown(since="1h", until="now", limit="1") == ["done"]
        for params, words in (({"level": "loud"}, "bad level"), ({"since": "soon"}, "bad time"),
                              ({"limit": "0"}, "limit"), ({"color": "x"}, "unknown")):  # fmt: skip
            bad = http.get(f"/api/logs/{key}/records", params=params)
            assert bad.status_code == 400, params
            assert words in bad.json()["error"]
        missing = http.get(f"/api/logs/{key}x/records")
        assert missing.status_code == 403  # outside the pattern: not even whether it exists
    wide = make_token(client, "read")
    with web.client(wide) as http:
        missing = http.get(f"/api/logs/{key}:none/records")
        assert missing.status_code == 404
        assert "no such log key" in missing.json()["error"]


def test_stats_are_the_numbers_of_stats_json(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    with web.client(secret) as http:
        levels = ["error" if i % 4 == 0 else "info" for i in range(40)]
        lines = [json.dumps({"msg": f"m{i}", "level": level}) for i, level in enumerate(levels)]
        _post(http, key, "\n".join(lines))
        stats = http.get(f"/api/logs/{key}/stats").json()
        errors = http.get(f"/api/logs/{key}/stats", params={"level": "error"}).json()
    cli = run_cli("stats", key, "-o", "json", "--url", web.url)
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    for name in ("records", "levels", "keys"):
        if name in expected:
            assert stats[name] == expected[name], name
    assert json.dumps(stats).count("40") >= 1
    assert errors != stats


def test_stats_of_undecodable_bytes_are_json(web: Served, client: redis.Redis, key: str) -> None:
    """Undecodable bytes in a logger name come back as U+FFFD, as stats -o json
    gives them, not as a server error."""
    client.lpush(key, b'{"ts":1790000000.0,"level":"info","logger":"caf\xe9","msg":"m"}')
    client.sadd("redislog:keys", key)
    with web.client(make_token(client, "read", key)) as http:
        response = http.get(f"/api/logs/{key}/stats")
    assert response.status_code == 200, response.text
    assert "\\ufffd" in response.text
    cli = run_cli("stats", key, "-o", "json", "--url", web.url)
    assert response.json()["loggers"] == json.loads(cli.stdout)["loggers"]


def test_hostile_records_come_back_as_json_data(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    payloads = ["<script>alert(1)</script>", "\x1b[2J\x1b]0;title\x07", "[bold red]x[/]",
                "\u202eevil", '"><img src=x onerror=alert(1)>']  # fmt: skip
    client.lpush(key, b"\xff\xfe not utf-8", b"[1, 2]", b"plain text")
    client.sadd("redislog:keys", key)
    with web.client(secret) as http:
        _post(http, key, json.dumps([{"msg": text, "field": text} for text in payloads]))
        response = http.get(f"/api/logs/{key}/records")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    got = response.json()["records"]
    assert [r["msg"] for r in got[:5]] == payloads[::-1]
    assert {r.get("problem") is not None for r in got[5:]} == {True}


# -- writing ---------------------------------------------------------------------------


def test_post_takes_an_object_an_array_or_ndjson(
    web: Served, client: redis.Redis, key: str
) -> None:
    secret = make_token(client, "write", key, service="web", env="prod")
    with web.client(secret) as http:
        one = _post(http, key, '{"msg": "one", "level": "error", "user": "ann", "service": "x"}')
        assert one.status_code == 201
        assert one.json()["stored"] == 1
        many = _post(http, key, '[{"msg": "a1"}, {"msg": "a2"}, "a3 as text"]')
        assert many.json()["stored"] == 3
        lines = _post(
            http, key, '{"msg": "n1"}\nplain n2\n\n{"msg": "n3"}\n',
            **{"Content-Type": "application/x-ndjson"},
        )  # fmt: skip
        assert lines.json()["stored"] == 3
        leveled = http.post(
            f"/api/logs/{key}", content=b"warned", params={"level": "warning", "logger": "cron"}
        )
        assert leveled.status_code == 201
    stored = [json.loads(raw) for raw in client.lrange(key, 0, -1)][::-1]
    assert [r["msg"] for r in stored] == ["one", "a1", "a2", "a3 as text", "n1", "plain n2", "n3",
                                          "warned"]  # fmt: skip
    for record in stored:
        assert record["service"] == "web"
        assert record["env"] == "prod"
        assert list(record)[:5] == ["ts", "level", "levelno", "logger", "msg"]
        assert ":" in record["id"]
    assert stored[0]["level"] == "ERROR"
    assert stored[0]["user"] == "ann"
    assert stored[-1]["level"] == "WARNING"
    assert stored[-1]["logger"] == "cron"
    assert client.sismember("redislog:keys", key)


def test_post_refuses_bad_bodies(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    with web.client(secret) as http:
        for body, status in (("", 400), ("[1, 2]", 400), ('[{"msg": ', 400), ("{}", 201)):
            response = _post(http, key, body)
            assert response.status_code == status, body
            if status >= 400:
                assert set(response.json()) == {"error"}


def test_post_limits_answer_413_and_429_with_retry_after(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    secret = make_token(server.client(), "write")
    args = ("--max-body", "10000", "--max-record", "500", "--rate", "5", "--burst", "20")
    with served(server.url, *args) as running, running.client(secret) as http:
        big = _post(http, "logs:l", "x" * 10_001)
        assert big.status_code == 413
        assert "body" in big.json()["error"]
        fat = _post(http, "logs:l", json.dumps({"msg": "y" * 600}))
        assert fat.status_code == 413
        assert "record 0" in fat.json()["error"]
        many = _post(http, "logs:l", "\n".join(["z"] * 21))
        assert many.status_code == 413
        assert _post(http, "logs:l", "\n".join(["ok"] * 20)).status_code == 201
        limited = _post(http, "logs:l", "\n".join(["again"] * 10))
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert server.client().llen("logs:l") == 20


def test_ingest_of_100000_ndjson_records(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    body = "".join(f'{{"msg": "r{i}", "n": {i}}}\n' for i in range(100_000))
    with web.client(secret) as http:
        response = _post(http, key, body, **{"Content-Type": "application/x-ndjson"})
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 100_000
    assert client.llen(key) == 100_000
    assert json.loads(client.lindex(key, 0))["msg"] == "r99999"


def test_records_posted_reach_a_running_tail(web: Served, client: redis.Redis, key: str) -> None:
    secret = make_token(client, "write", key)
    with web.client(secret) as http:
        _post(http, key, '{"msg": "before the tail"}')
        tail = Background("tail", key, "-n", "0", "-o", "cat", "--url", web.url)
        try:
            wait_for(lambda: client.zcard("{" + key + "}:tails") > 0, 20)
            _post(http, key, "\n".join(f"live {i}" for i in range(5)))
            tail.wait_for(lambda: len(tail.lines) >= 5)
            assert tail.lines == [f"live {i}" for i in range(5)]
        finally:
            tail.stop()


# -- following ---------------------------------------------------------------------------


def test_follow_sends_every_record_once_in_order(
    web: Served, client: redis.Redis, key: str
) -> None:
    writer = make_token(client, "write", key)
    reader = make_token(client, "read", key)
    events = Events(web.client(reader), f"/api/logs/{key}/follow")
    try:
        with web.client(writer) as http:
            for start in range(0, 300, 50):
                _post(http, key, "\n".join(f"e{i}" for i in range(start, start + 50)))
        wait_for(lambda: len(events.records()) >= 300, 30)
        got = [json.loads(data) for _, data in events.records()]
        assert [event["record"]["msg"] for event in got] == [f"e{i}" for i in range(300)]
        assert {event["key"] for event in got} == {key}
        assert [ident for ident, _ in events.records()] == [e["record"]["id"] for e in got]
    finally:
        events.close()


def test_follow_filters_and_resumes_after_last_event_id(
    web: Served, client: redis.Redis, key: str
) -> None:
    writer = make_token(client, "write", key)
    reader = make_token(client, "read", key)
    path = f"/api/logs/{key}/follow?level=warning"
    first = Events(web.client(reader), path)
    with web.client(writer) as http:
        for i in range(10):
            _post(http, key, json.dumps({"msg": f"w{i}", "level": "warning"}))
            _post(http, key, json.dumps({"msg": f"i{i}", "level": "info"}))
        wait_for(lambda: len(first.records()) >= 10, 20)
        first.close()
        seen = [json.loads(d)["record"]["msg"] for _, d in first.records()]
        assert seen == [f"w{i}" for i in range(10)]
        last = first.records()[4][0]  # the browser saw w0..w4 before losing the stream
        assert last is not None
        for i in range(10, 15):  # logged while it was away
            _post(http, key, json.dumps({"msg": f"w{i}", "level": "warning"}))
        second = Events(web.client(reader), path, **{"Last-Event-ID": last})
        try:
            for i in range(15, 18):
                _post(http, key, json.dumps({"msg": f"w{i}", "level": "warning"}))
            wait_for(lambda: len(second.records()) >= 13, 20)
            time.sleep(0.3)  # anything repeated would arrive by now
            again = [json.loads(d)["record"]["msg"] for _, d in second.records()]
            assert again == [f"w{i}" for i in range(5, 18)]
        finally:
            second.close()


def test_many_followers_share_one_redis_connection(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    watcher = server.client()
    reader = make_token(watcher, "read")
    writer = make_token(watcher, "write")

    def connections() -> int:
        return len(watcher.client_list()) - 1  # not this one

    with served(server.url) as running, running.client(writer) as http:
        _post(http, "logs:fan", "first")
        one = Events(running.client(reader), "/api/logs/logs:fan/follow")
        followers = [one]
        try:
            _post(http, "logs:fan", "warm up")
            wait_for(lambda: len(one.records()) == 1, 20)
            base = connections()
            followers += [Events(running.client(reader), "/api/logs/logs:fan/follow")
                          for _ in range(40)]  # fmt: skip
            _post(http, "logs:fan", "to everyone")
            wait_for(lambda: all(len(f.records()) >= 1 for f in followers[1:]), 30,
                     what=lambda: str([len(f.records()) for f in followers]))  # fmt: skip
            assert connections() == base
            assert watcher.zcard("{logs:fan}:tails") == 1  # one inbox for all of them
            with running.client() as plain:
                metrics = plain.get("/metrics").text
            assert "redislog_followers 41" in metrics
            assert "redislog_feeds 1" in metrics
        finally:
            for follower in followers:
                follower.close()
        # The last one to leave stops the feed and its inbox goes.
        wait_for(lambda: watcher.zcard("{logs:fan}:tails") == 0, 20)


def test_follow_resumes_across_a_redis_restart(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    server = server_factory("--appendonly", "yes")
    watcher = server.client()
    reader = make_token(watcher, "read")
    writer = make_token(watcher, "write")
    with served(server.url) as running:
        events = Events(running.client(reader), "/api/logs/logs:rs/follow")
        try:
            with running.client(writer) as http:
                _post(http, "logs:rs", "before")
                wait_for(lambda: len(events.records()) == 1, 20)
                server.restart()
                wait_for(lambda: _post(http, "logs:rs", "after").status_code == 201, 30, every=0.2)
            wait_for(lambda: any("after" in d for _, d in events.records()), 30)
            last = events.records()[0][0]
        finally:
            events.close()
        assert last is not None
        resumed = Events(running.client(reader), "/api/logs/logs:rs/follow",
                         **{"Last-Event-ID": last})  # fmt: skip
        try:
            wait_for(lambda: len(resumed.records()) >= 1, 20)
            msgs = [json.loads(d)["record"]["msg"] for _, d in resumed.records()]
            assert msgs[0] == "after"
            assert "before" not in msgs
        finally:
            resumed.close()


def test_redis_down_is_503_and_the_server_keeps_running(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    secret = make_token(server.client(), "write")
    with served(server.url) as running, running.client(secret) as http:
        assert _post(http, "logs:d", "up").status_code == 201
        server.stop()
        assert http.get("/healthz").status_code == 503
        down = http.get("/api/logs/logs:d/records")
        assert down.status_code in (401, 503)  # the token cannot be checked either
        assert set(down.json()) == {"error"}
        server.start()  # empty: no persistence
        wait_for(lambda: http.get("/healthz").status_code == 200, 30, every=0.2)
        again = make_token(server.client(), "write")
        with running.client(again) as fresh:
            assert _post(fresh, "logs:d", "back").status_code == 201
            assert _msgs(fresh.get("/api/logs/logs:d/records")) == ["back"]
        assert running.process.poll() is None


def test_a_secret_in_a_cookie_is_no_session(web: Served, client: redis.Redis) -> None:
    """Browsers sign in for a session (its id, not the token's secret, in the
    cookie); a cookie holding a secret opens nothing."""
    secret = make_token(client, "read")
    with web.client() as browser:
        for name in ("redislog_session", "redislog_sid"):
            browser.cookies.set(name, secret)
            assert browser.get("/api/logs").status_code == 401
            browser.cookies.clear()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_ends_streams_and_unregisters_at_once(
    server_factory: Callable[..., Server], stop: signal.Signals
) -> None:
    """Ctrl-C (or SIGTERM) with a follower connected: its stream ends, the
    feed's tail unregisters, and serve ends at once, silently, with the
    signal's status."""
    server = server_factory()
    watcher = server.client()
    running = Served(server.url)
    try:
        events = Events(running.client(make_token(watcher, "read")), "/api/logs/logs:stop/follow")
        wait_for(lambda: watcher.zcard("{logs:stop}:tails") == 1, 20)
        sent = time.monotonic()
        running.process.send_signal(stop)
        code = running.process.wait(20)
        took = time.monotonic() - sent
        events.close()
    finally:
        running.stop()
    assert code in (128 + stop, -stop)  # a shell shows either as 130 (143)
    assert took < 2  # the graceful shutdown's timeout is 2 s
    assert watcher.zcard("{logs:stop}:tails") == 0
    assert not [line for line in running.errors if "Traceback" in line or "ERROR" in line]


# -- the command line ---------------------------------------------------------------------


def test_token_commands(shared_server: Server, client: redis.Redis) -> None:
    url = shared_server.url
    created = run_cli("token", "create", "cli-ci", "--scope", "write", "--keys", "logs:ci*",
                      "--ttl", "30d", "--field", "service=web", "--url", url)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("rlt_")
    assert secret not in created.stderr
    assert "shown only now" in created.stderr
    listed = run_cli("token", "ls", "--url", shared_server.url)
    assert "cli-ci" in listed.stdout
    assert "write" in listed.stdout
    assert secret not in listed.stdout
    as_json = json.loads(run_cli("token", "ls", "-o", "json", "--url", shared_server.url).stdout)
    mine = next(t for t in as_json if t["name"] == "cli-ci")
    assert mine["fields"] == {"service": "web"}
    assert mine["expires"] > time.time() + 29 * 86400
    again = run_cli("token", "create", "cli-ci", "--url", shared_server.url)
    assert "exists" in one_line_error(again, 2)
    for args, words in ((["--scope", "root"], "bad scope"), (["--ttl", "soon"], "bad --ttl"),
                        (["--field", "nokey"], "bad field")):  # fmt: skip
        bad = run_cli("token", "create", "other", *args, "--url", shared_server.url)
        assert words in one_line_error(bad, 2)
    revoked = run_cli("token", "revoke", "cli-ci", "--url", shared_server.url)
    assert revoked.returncode == 0
    assert "no token called" in one_line_error(
        run_cli("token", "revoke", "cli-ci", "--url", shared_server.url), 2
    )


def test_serve_refuses_a_public_address_without_tokens(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory()
    refused = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--url", server.url)
    assert "refusing to listen on 0.0.0.0" in one_line_error(refused, 2)
    make_token(server.client(), "read")
    with served(server.url, "--host", "0.0.0.0") as running:
        wait_for(lambda: any("without TLS" in line for line in running.errors), 10)


def test_serve_usage_errors_are_one_line(web: Served) -> None:
    taken = run_cli("serve", "--port", str(web.port), "--url", web.url)
    assert "cannot listen on" in one_line_error(taken, 2)
    lone = run_cli("serve", "--certfile", "/nonexistent", "--url", web.url)
    assert "go together" in one_line_error(lone, 2)
