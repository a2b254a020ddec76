"""Each Lua script run on its own through its typed function: every status,
the reply's shape, and the argument layout that least-privilege users need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from redislog import filters, keys, prefilter, scripts
from redislog.scripts import Anchor, Registration, TrimStatus, WindowStatus, lua
from tests.servers import Server
from tests.support.acl import as_user, load_users, variants
from tests.support.records import ours, push

NO_FILTER = prefilter.Prefilter().args()


def now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


# -- PUSH ---------------------------------------------------------------------------


def test_push_stores_a_batch_oldest_first_trims_it_and_records_the_cap(
    client: redis.Redis, key: str
) -> None:
    reply = scripts.push(client, key=key, token="p", batch=1, maxlen=3, records=[b"a", b"b"])
    assert reply == scripts.PushReply(problems=())
    scripts.push(client, key=key, token="p", batch=2, maxlen=3, records=[b"c", b"d"])
    assert client.lrange(key, 0, -1) == [b"d", b"c", b"b"]
    assert client.hget(keys.meta(key), "maxlen") == b"3"
    assert client.get(keys.seen(key, "p")) == b"2"


def test_push_skips_a_batch_number_already_stored(client: redis.Redis, key: str) -> None:
    """A batch sent again after a lost reply is not stored twice."""
    for _ in range(2):
        reply = scripts.push(client, key=key, token="p", batch=7, maxlen=10, records=[b"x"])
        assert reply.problems == ()
    scripts.push(client, key=key, token="p", batch=6, maxlen=10, records=[b"old"])
    assert client.lrange(key, 0, -1) == [b"x"]


def test_push_feeds_live_inboxes_caps_them_and_drops_expired_tails(
    client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lua, "INBOX_CAP", 2)
    now = now_ms(client)
    client.zadd(keys.tails(key), {"live": now + 60_000, "gone": now - 1})
    client.rpush(keys.inbox(key, "gone"), b"stale")
    scripts.push(client, key=key, token="p", batch=1, maxlen=10, records=[b"a", b"b", b"c"])
    assert client.lrange(keys.inbox(key, "live"), 0, -1) == [b"c", b"b"]
    assert client.hget(keys.gaps(key), "live") == b"1"
    assert client.zrange(keys.tails(key), 0, -1) == [b"live"]
    assert not client.exists(keys.inbox(key, "gone"))


def test_push_reports_what_failed_after_storing(client: redis.Redis, key: str) -> None:
    """A live tail's inbox of the wrong type: the records are stored, the error returned."""
    client.zadd(keys.tails(key), {"odd": now_ms(client) + 60_000})
    client.set(keys.inbox(key, "odd"), "not a list")
    reply = scripts.push(client, key=key, token="p", batch=1, maxlen=10, records=[b"a"])
    assert client.lrange(key, 0, -1) == [b"a"]
    assert len(reply.problems) >= 1
    assert all(isinstance(problem, str) for problem in reply.problems)
    assert "WRONGTYPE" in reply.problems[0]


def test_push_refused_stores_nothing(client: redis.Redis, key: str) -> None:
    """A log key of another type: an error, and no key written at all."""
    client.set(key, "not a list")
    with pytest.raises(scripts.WrongType, match=f"{key}. holds a Redis string, not a log list"):
        scripts.push(client, key=key, token="p", batch=1, maxlen=10, records=[b"a"])
    assert not client.exists(keys.meta(key), keys.seen(key, "p"))


# -- ATTACH and HEARTBEAT -----------------------------------------------------------


def test_attach_registers_and_snapshots_at_one_instant(client: redis.Redis, key: str) -> None:
    push(client, key, *(ours(i) for i in range(5)))
    reply = scripts.attach(client, log=key, tail_id="t1", ttl_ms=60_000, count=2)
    assert reply == scripts.AttachReply(length=5, pushed=5, trimmed=0, newest=[ours(4), ours(3)])
    assert client.zscore(keys.tails(key), "t1") > now_ms(client)
    empty = scripts.attach(client, log=key, tail_id="t2", ttl_ms=60_000, count=0)
    assert (empty.length, empty.newest) == (5, [])


def test_push_counts_what_it_pushed_and_trimmed(client: redis.Redis, key: str) -> None:
    """A live tail tells the writer's pushes and trims from other programs' by them."""
    scripts.push(client, key=key, token="p", batch=1, maxlen=3, records=[b"a", b"b"])
    scripts.push(client, key=key, token="p", batch=2, maxlen=3, records=[b"c", b"d"])
    assert client.hmget(keys.meta(key), "pushed", "trimmed") == [b"4", b"1"]


def _follow(client: redis.Redis, key: str, cursor: scripts.Cursor) -> scripts.FollowReply:
    return scripts.follow(
        client, log=key, tail_id="t", cursor=cursor, window=3, filter_args=NO_FILTER
    )


def test_follow_reads_after_the_cursor_whoever_pushed(client: redis.Redis, key: str) -> None:
    """The writer's pushes, foreign LPUSHes, identical records and the cap:
    every record after the cursor once, in the list's order, a window at a time."""
    push(client, key, b"a", maxlen=100)
    attached = scripts.attach(client, log=key, tail_id="t", ttl_ms=60_000, count=1)
    cursor = scripts.Cursor(b"a", 0, attached.length, attached.pushed, attached.trimmed)
    push(client, key, b"b", maxlen=100)
    client.lpush(key, b"x", b"x")
    push(client, key, b"c", maxlen=100)
    client.lpush(key, b"x")
    reply = _follow(client, key, cursor)
    assert (reply.status, reply.candidates, reply.more) == (
        scripts.Follow.FOUND, [b"x", b"x", b"b"], True  # newest first
    )  # fmt: skip
    assert not client.exists(keys.inbox(key, "t"))  # emptied: it only wakes the tail
    reply = _follow(client, key, reply.cursor)
    assert (reply.candidates, reply.more) == ([b"x", b"c"], False)
    # The same bytes again, from another program: a new record all the same.
    client.lpush(key, b"x")
    reply = _follow(client, key, reply.cursor)
    assert (reply.status, reply.candidates) == (scripts.Follow.FOUND, [b"x"])
    assert _follow(client, key, reply.cursor).candidates == []


def test_follow_reports_records_the_cap_trimmed_unread(client: redis.Redis, key: str) -> None:
    push(client, key, b"a", maxlen=2)
    attached = scripts.attach(client, log=key, tail_id="t", ttl_ms=60_000, count=1)
    cursor = scripts.Cursor(b"a", 0, attached.length, attached.pushed, attached.trimmed)
    client.lpush(key, b"x1", b"x2")
    push(client, key, b"b", b"c", b"d", maxlen=2)
    reply = _follow(client, key, cursor)
    # x1, x2 and b were trimmed unread; the inbox still holds the writer's.
    assert (reply.status, reply.missed) == (scripts.Follow.TRIMMED, 3)
    assert reply.inbox == [b"b", b"c", b"d"]
    assert reply.candidates == [b"d", b"c"]
    client.delete(key)
    client.lpush(key, b"new")
    reply = _follow(client, key, reply.cursor)
    assert (reply.status, reply.candidates) == (scripts.Follow.GONE, [b"new"])


def test_heartbeat_keeps_alive_reports_inbox_drops_once_and_sees_expiry(
    client: redis.Redis, key: str
) -> None:
    scripts.attach(client, log=key, tail_id="t", ttl_ms=1000, count=0)
    client.hset(keys.gaps(key), "t", 3)
    beat = scripts.heartbeat(client, log=key, tail_id="t", ttl_ms=60_000)
    assert beat == scripts.HeartbeatReply(Registration.LIVE, dropped=3)
    assert scripts.heartbeat(client, log=key, tail_id="t", ttl_ms=60_000).dropped == 0
    assert client.zscore(keys.tails(key), "t") > now_ms(client) + 30_000
    client.zrem(keys.tails(key), "t")
    gone = scripts.heartbeat(client, log=key, tail_id="t", ttl_ms=60_000)
    assert gone.registration is Registration.EXPIRED


# -- BACKLOG ------------------------------------------------------------------------


def test_backlog_reads_a_snapshot_window_filtered_by_the_server(
    client: redis.Redis, key: str
) -> None:
    stored = [ours(i, levelno=40 if i % 2 else 20) for i in range(10)]
    push(client, key, *stored)
    scripts.attach(client, log=key, tail_id="t", ttl_ms=60_000, count=0)
    push(client, key, ours(10))  # moves the snapshot up by one, and reaches the inbox
    args = prefilter.for_query(filters.parse_query(level="error")).args()
    reply = scripts.backlog(
        client, log=key, tail_id="t", base=0, span=(2, 5), anchor=None, filter_args=args
    )
    assert reply.status is WindowStatus.READ
    assert (reply.shift, reply.length, reply.read, reply.correction) == (1, 11, 4, 0)
    assert (reply.newest, reply.oldest) == (stored[7], stored[4])
    assert reply.candidates == [stored[7], stored[5]]  # the errors
    assert reply.maxts == 1_700_000_007


def test_backlog_follows_an_anchor_moved_by_foreign_pushes(
    client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records LPUSHed past the inbox move the anchor: found again, else searched
    for window by window (RELOCATING), else gone with the cap (TRIMMED)."""
    push(client, key, *(ours(i) for i in range(10)))
    scripts.attach(client, log=key, tail_id="t", ttl_ms=60_000, count=0)
    anchor = Anchor(0, ours(9))

    def read(base: int = 0) -> scripts.BacklogReply:
        return scripts.backlog(
            client, log=key, tail_id="t", base=base, span=(1, 2), anchor=anchor,
            filter_args=NO_FILTER,
        )  # fmt: skip

    client.lpush(key, b"foreign")
    moved = read()
    assert (moved.status, moved.correction, moved.newest) == (WindowStatus.READ, 1, ours(8))
    monkeypatch.setattr(lua, "RELOCATE_BUDGET", 1)
    client.lpush(key, *(f"more {i}".encode() for i in range(2000)))
    searching = read(1)
    assert searching.status is WindowStatus.RELOCATING
    assert searching.correction > 0
    client.ltrim(key, 0, 5)
    assert read(1 + searching.correction).status is WindowStatus.TRIMMED


def test_backlog_of_an_expired_registration_reads_nothing(client: redis.Redis, key: str) -> None:
    push(client, key, ours(0))
    reply = scripts.backlog(
        client, log=key, tail_id="nobody", base=0, span=(0, 0), anchor=None,
        filter_args=NO_FILTER,
    )  # fmt: skip
    assert (reply.status, reply.read, reply.candidates) == (WindowStatus.EXPIRED, 0, [])


# -- SCAN ---------------------------------------------------------------------------


def test_scan_reads_windows_after_its_anchor_wherever_it_moved(
    client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    push(client, key, *(ours(i) for i in range(10)))

    def scan(start: int, anchor: bytes | None) -> scripts.ScanReply:
        return scripts.scan(
            client, log=key, start=start, count=3, anchor=anchor, filter_args=NO_FILTER
        )

    first = scan(0, None)  # (no time to filter by: the heads are not read)
    assert first == scripts.ScanReply(
        WindowStatus.READ, start=0, length=10, maxts=None, last=ours(7), read=3,
        candidates=[ours(9), ours(8), ours(7)],
    )  # fmt: skip
    push(client, key, ours(10), ours(11))
    second = scan(3, first.last)
    assert (second.status, second.start, second.candidates) == (
        WindowStatus.READ, 5, [ours(6), ours(5), ours(4)],
    )  # fmt: skip
    monkeypatch.setattr(lua, "RELOCATE_BUDGET", 1)
    client.lpush(key, *(f"more {i}".encode() for i in range(2000)))
    relocating = scan(6, second.last)
    assert relocating.status is WindowStatus.RELOCATING
    assert relocating.start > 6
    client.ltrim(key, 0, 5)
    assert scan(relocating.start, second.last).status is WindowStatus.TRIMMED


# -- TRIM ---------------------------------------------------------------------------


def test_trim_drops_the_old_end_only_if_it_is_as_read(client: redis.Redis, key: str) -> None:
    push(client, key, *(ours(i) for i in range(10)))
    assert scripts.trim(client, log=key, count=3, boundary=ours(2)) == scripts.TrimReply(
        TrimStatus.DROPPED, left=7
    )
    assert client.lindex(key, -1) == ours(3)
    moved = scripts.trim(client, log=key, count=3, boundary=ours(2))
    assert moved.status is TrimStatus.MOVED
    assert client.llen(key) == 7


# -- argument layout ----------------------------------------------------------------


def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[bytes], list[Any]]]:
    """The KEYS and ARGV of every script call from now on."""
    seen: list[tuple[list[bytes], list[Any]]] = []
    run = lua.run

    def record(client: Any, source: str, keys: list[bytes], args: list[Any]) -> Any:
        seen.append((list(keys), list(args)))
        return run(client, source, keys, args)

    monkeypatch.setattr(lua, "run", record)
    return seen


def test_reader_scripts_name_the_log_only_in_argv_and_stay_in_its_slot(
    client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only user may run them (Redis 7 counts every declared key as
    written), and on a cluster they run on the log's node."""
    push(client, key, ours(0))
    seen = calls(monkeypatch)
    scripts.attach(client, log=key, tail_id="t", ttl_ms=60_000, count=1)
    scripts.heartbeat(client, log=key, tail_id="t", ttl_ms=60_000)
    scripts.backlog(
        client, log=key, tail_id="t", base=0, span=(0, 0), anchor=None, filter_args=NO_FILTER
    )
    scripts.scan(client, log=key, start=0, count=1, anchor=None, filter_args=NO_FILTER)
    cursor = scripts.Cursor(None, 0, 0, 0, 0)
    scripts.follow(client, log=key, tail_id="t", cursor=cursor, window=1, filter_args=NO_FILTER)
    log = keys.encoded(key)
    assert len(seen) == 5
    for declared, _ in seen:
        assert log not in declared
        assert {key_slot(name) for name in declared} == {key_slot(log)}
    assert [args[0] for _, args in seen if args[0] == log] == [log] * 4  # all but heartbeat


def test_writing_scripts_declare_every_key_they_write(
    client: redis.Redis, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = calls(monkeypatch)
    scripts.push(client, key=key, token="p", batch=1, maxlen=10, records=[b"a"])
    scripts.trim(client, log=key, count=1, boundary=b"a")
    (pushed, _), (trimmed, _) = seen
    written = [key, keys.tails(key), keys.gaps(key), keys.meta(key), keys.seen(key, "p")]
    assert pushed == [keys.encoded(name) for name in written]
    assert trimmed == [keys.encoded(key)]


@pytest.mark.parametrize("variant", variants())
def test_the_readme_users_run_the_scripts_of_their_role(
    variant: str, server_factory: Callable[..., Server]
) -> None:
    """The writer pushes; the reader attaches, beats, reads the backlog and scans."""
    server = server_factory()
    load_users(server, variant)
    key = "logs:scripts"
    writer = redis.Redis.from_url(as_user(server, "logwriter"))
    reader = redis.Redis.from_url(as_user(server, "logreader"))
    scripts.push(writer, key=key, token="p", batch=1, maxlen=10, records=[ours(0), ours(1)])
    attached = scripts.attach(reader, log=key, tail_id="t", ttl_ms=60_000, count=1)
    assert attached == scripts.AttachReply(length=2, pushed=2, trimmed=0, newest=[ours(1)])
    assert scripts.heartbeat(reader, log=key, tail_id="t", ttl_ms=60_000).registration is (
        Registration.LIVE
    )
    window = scripts.backlog(
        reader, log=key, tail_id="t", base=0, span=(1, 1), anchor=None, filter_args=NO_FILTER
    )
    assert window.candidates == [ours(0)]
    scanned = scripts.scan(reader, log=key, start=0, count=5, anchor=None, filter_args=NO_FILTER)
    assert scanned.candidates == [ours(1), ours(0)]
    start = scripts.Cursor(None, 0, 0, 0, 0)
    followed = scripts.follow(
        reader, log=key, tail_id="t", cursor=start, window=10, filter_args=NO_FILTER
    )
    assert followed.candidates == [ours(1), ours(0)]
    with pytest.raises(redis.ResponseError, match=r"permission|can't run"):
        scripts.trim(reader, log=key, count=1, boundary=ours(0))
    if variant == "7.0":
        # Declaring the log key would make the same read a write, refused.
        sha = reader.script_load(scripts.ATTACH)
        with pytest.raises(redis.exceptions.NoPermissionError):
            reader.evalsha(sha, 1, key, key, "t2", 60_000, 1)
    for client in (writer, reader):
        client.close()


def test_every_script_compiles_on_this_server(client: redis.Redis) -> None:
    for source in (scripts.PUSH, scripts.HEARTBEAT, scripts.ATTACH, scripts.BACKLOG,
                   scripts.SCAN, scripts.FOLLOW, scripts.TRIM):  # fmt: skip
        assert client.script_load(source)
