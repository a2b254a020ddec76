"""RedisHandler against real redis-servers."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import redis

from redislog import RedisHandler, connection, keys, scripts, serialize, writer
from tests.servers import Server
from tests.support import attach, run_script, stored, wait_for


def test_dictconfig_threads_deliver_everything_once_in_order(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """100k records from 4 threads, configured by dictConfig, all arrive once, in order."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "redis": {
                    "class": "redislog.RedisHandler",
                    "url": redis_url,
                    "key": key,
                    "maxlen": 200_000,
                    "fields": {"service": "billing", "env": "test"},
                }
            },
            "loggers": {"billing": {"level": "INFO", "handlers": ["redis"], "propagate": False}},
        }
    )
    logger = logging.getLogger("billing")
    per_thread = 25_000

    def work(n: int) -> None:
        for i in range(per_thread):
            logger.info("charged %s", i, extra={"order_id": i, "amount": 12.5, "worker": n})

    threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handler = logger.handlers[0]
    assert isinstance(handler, RedisHandler)
    handler.flush(30)
    records = stored(client, key)
    assert len(records) == 4 * per_thread
    assert len({r["id"] for r in records}) == len(records)
    by_worker: dict[int, list[int]] = {}
    for r in records:
        by_worker.setdefault(r["worker"], []).append(r["order_id"])
        assert r["service"] == "billing"
        assert r["env"] == "test"
        assert r["amount"] == 12.5
        assert r["logger"] == "billing"
        assert r["msg"] == f"charged {r['order_id']}"
        assert r["thread"] == f"w{r['worker']}"
    assert by_worker == {n: list(range(per_thread)) for n in range(4)}
    assert handler.stats == {
        "submitted": 100_000,
        "delivered": 100_000,
        "dropped": 0,
        "pending": 0,
    }
    assert client.sismember(keys.INDEX, key)
    assert client.hget(keys.meta(key), "maxlen") == b"200000"


def test_exception_record(redis_url: str, client: redis.Redis, key: str) -> None:
    """logger.exception stores the traceback, the exception's type and the fields."""
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.exc")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("lookup failed", extra={"user": "ann"})
    handler.close()
    (r,) = stored(client, key)
    assert r["level"] == "ERROR"
    assert r["msg"] == "lookup failed"
    assert r["exc_type"] == "KeyError"
    assert "Traceback (most recent call last)" in r["exc"]
    assert r["exc"].endswith("KeyError: 'missing'")
    assert r["user"] == "ann"


def test_list_is_capped(redis_url: str, client: redis.Redis, key: str) -> None:
    """The list holds exactly the newest maxlen records."""
    handler = RedisHandler(url=redis_url, key=key, maxlen=100)
    logger = attach(handler, "app.cap")
    for i in range(10_000):
        logger.info("n", extra={"i": i})
    handler.close()
    assert [r["i"] for r in stored(client, key)] == list(range(9_900, 10_000))


def test_lone_record_arrives_without_flush(redis_url: str, client: redis.Redis, key: str) -> None:
    """A record at a quiet moment is sent at once, not when a batch fills."""
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.quiet")
    logger.warning("alone")
    wait_for(lambda: client.llen(key) == 1)
    handler.close()


def test_redis_down_at_start_then_up(
    server_factory: Callable[..., Server], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No call waits while Redis is down; the records arrive once it starts, one stderr line."""
    server = server_factory(start=False)
    handler = RedisHandler(url=server.url, key=key)
    logger = attach(handler, "app.down")
    durations = []
    for i in range(10_000):
        start = time.perf_counter()
        logger.info("offline %d", i, extra={"i": i})
        durations.append(time.perf_counter() - start)
    time.sleep(0.3)  # let the writer fail a few times
    server.start()
    handler.flush(15)
    records = stored(server.client(), key)
    assert [r["i"] for r in records] == list(range(10_000))
    handler.close()
    err = capsys.readouterr().err
    assert err.count("redislog:") == 1, err
    assert "cannot write to redis://127.0.0.1" in err
    durations = sorted(durations[1:])  # the first call starts the writer thread
    assert durations[-1] < 0.1, (
        f"p99 {durations[9_899] * 1e6:.1f} us, max {durations[-1] * 1e6:.1f} us"
    )


def test_restart_mid_stream_loses_nothing(server_factory: Callable[..., Server], key: str) -> None:
    """Redis killed and restarted (AOF always): every record is stored at least once."""
    server = server_factory("--appendonly", "yes", "--appendfsync", "always")
    handler = RedisHandler(url=server.url, key=key, socket_timeout=0.5, connect_timeout=0.2)
    logger = attach(handler, "app.restart")
    stop = threading.Event()
    sent = []

    def produce() -> None:
        i = 0
        while not stop.is_set() or i < 3_000:
            logger.info("steady", extra={"i": i})
            sent.append(i)
            i += 1
            time.sleep(0.0002)

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(0.3)
    server.restart()
    time.sleep(0.3)
    stop.set()
    thread.join()
    handler.flush(15)
    records = stored(server.client(), key)
    counts = Counter(r["i"] for r in records)
    assert set(counts) == set(sent)
    assert all(n <= 2 for n in counts.values())
    handler.close()


def split_markers(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[int]]:
    """The one drop marker among *records*, and the ``i`` of the others."""
    (marker,) = [r for r in records if r["logger"] == "redislog"]
    return marker, [r["i"] for r in records if r["logger"] != "redislog"]


def test_overflow_keeps_newest_and_writes_a_drop_marker(
    server_factory: Callable[..., Server], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full buffer drops the oldest records and says how many.

    The batch the writer had in flight when Redis went away is kept too (it
    may have landed, so it is sent again as it was).
    """
    server = server_factory(start=False)
    handler = RedisHandler(url=server.url, key=key, buffer_records=100)
    logger = attach(handler, "app.full")
    for i in range(1_000):
        logger.info("burst", extra={"i": i})
    server.start()
    handler.flush(15)
    marker, kept = split_markers(stored(server.client(), key))
    assert marker["level"] == "WARNING"
    assert marker["levelno"] == 30
    assert f"{marker['dropped']} log records dropped" in marker["msg"]
    assert marker["dropped"] + len(kept) == 1_000
    assert kept[-100:] == list(range(900, 1_000))
    in_flight = kept[:-100]
    assert in_flight == list(range(len(in_flight)))
    assert len(in_flight) <= writer.BATCH_RECORDS
    assert handler.stats["dropped"] == marker["dropped"]
    handler.close()
    assert capsys.readouterr().err.count("redislog:") == 1


def test_a_batch_gathers_while_records_keep_coming(
    redis_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records still waiting when a batch went out, by the hundred but fewer
    than a full batch, wait for more instead of costing a round trip of their
    own; flush() (and so close()) cuts that wait short.  A few records go at
    once: a live tail sees them without delay."""
    monkeypatch.setattr(writer, "_GATHER_SECONDS", 60.0)
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.gather")
    logger.info("first")
    held = handler._writer
    assert held.flush(5)
    sent = 1
    for extra, gathers in ((writer._GATHER_FROM, True), (writer._GATHER_FROM - 1, False)):
        assert held.pause(time.monotonic() + 5)
        for i in range(writer.BATCH_RECORDS + extra):
            logger.info("r %d", i)
        held.resume()
        sent += writer.BATCH_RECORDS + extra
        if gathers:
            batch = sent - extra
            wait_for(lambda n=batch: held.delivered == n, what="a full batch")
            time.sleep(0.5)
            assert held.delivered == batch  # the rest gathers
            assert held.flush(5)  # not 60 s
        else:
            wait_for(lambda n=sent: held.delivered == n, what="every record, unflushed")
    assert len(stored(redis.Redis.from_url(redis_url), key)) == sent
    handler.close()


def test_overflow_by_bytes(server_factory: Callable[..., Server], key: str) -> None:
    """The byte bound keeps the newest records and counts the rest in a marker."""
    server = server_factory(start=False)
    handler = RedisHandler(url=server.url, key=key, buffer_bytes=64 * 1024)
    logger = attach(handler, "app.bytes")
    for i in range(200):
        logger.info("x" * 2000, extra={"i": i})
    server.start()
    handler.flush(15)
    marker, kept = split_markers(stored(server.client(), key))
    assert marker["dropped"] + len(kept) == 200
    newest = [i for i in kept if i >= kept[-1] - 40]
    assert 20 < len(newest) < 40
    assert newest == list(range(200 - len(newest), 200))
    handler.close()


def test_wrong_type_key_is_reported_not_retried_forever(
    redis_url: str, client: redis.Redis, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client.set(key, "not a list")
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.wrongtype")
    for i in range(10):
        logger.info("lost", extra={"i": i})
    handler.flush(5)
    assert handler.stats["dropped"] == 10
    assert handler.stats["pending"] == 0
    handler.close()
    err = capsys.readouterr().err
    assert err.count("redislog:") == 1
    assert f"'{key}' holds a Redis string, not a log list; dropping" in err
    assert "Error running script" not in err


def test_exit_with_frozen_redis_is_bounded(
    shared_server: Server, server_factory: Callable[..., Server], key: str
) -> None:
    """A process whose Redis is frozen exits within its flush deadline."""
    server = server_factory()
    server.freeze()
    try:
        start = time.monotonic()
        result = run_script(
            """
            import logging, sys
            from redislog import RedisHandler
            handler = RedisHandler(url=sys.argv[1], key=sys.argv[2], flush_timeout=3)
            logging.getLogger().addHandler(handler)
            for i in range(100):
                logging.getLogger().warning("frozen %d", i)
            """,
            server.url,
            key,
        )
        elapsed = time.monotonic() - start
    finally:
        server.thaw()
    assert result.returncode == 0, result.stderr
    assert elapsed < 10
    assert "gave up on 100 unsent log records" in result.stderr
    assert result.stderr.count("redislog:") == 2, result.stderr


def test_close_twice_and_emit_after_close(redis_url: str, key: str) -> None:
    """Closing twice is harmless; a record logged after close is counted dropped."""
    handler = RedisHandler(url=redis_url, key=key)
    logger = attach(handler, "app.closed")
    logger.info("one")
    handler.close()
    handler.close()
    logger.info("after close")
    assert handler.stats["delivered"] == 1
    assert handler.stats["dropped"] == 1


def test_unused_handler_starts_no_thread(redis_url: str, key: str) -> None:
    handler = RedisHandler(url=redis_url, key=key)
    # By name, not by count: threads of earlier tests may still be ending.
    assert handler._writer._thread is None
    assert f"redislog-writer:{key}" not in {thread.name for thread in threading.enumerate()}
    handler.close()


def test_fork_child_records_arrive(redis_url: str, client: redis.Redis, key: str) -> None:
    """A forked child gets its own writer; parent and child records all arrive once."""
    result = run_script(
        """
        import logging, os, sys, threading
        from redislog import RedisHandler
        handler = RedisHandler(url=sys.argv[1], key=sys.argv[2])
        log = logging.getLogger("forky")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        stop = threading.Event()
        def busy():
            # Keep the buffer and the writer busy while the fork happens
            # (not beyond the list's cap, which would trim the child's records).
            i = 0
            while not stop.is_set() and i < 50_000:
                log.info("parent busy", extra={"who": "busy", "i": i})
                i += 1
        def flushing():
            # And a flush in progress: the child must not inherit its locks.
            while not stop.is_set():
                handler.flush(1)
        t = threading.Thread(target=busy)
        t.start()
        f = threading.Thread(target=flushing)
        f.start()
        pid = os.fork()
        if pid == 0:
            for i in range(1000):
                log.info("child", extra={"who": "child", "i": i})
            logging.shutdown()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        stop.set()
        t.join()
        f.join()
        log.info("parent done", extra={"who": "parent"})
        print(os.waitstatus_to_exitcode(status))
        """,
        redis_url,
        key,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
    records = stored(client, key)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    child = [r["i"] for r in records if r["who"] == "child"]
    assert child == list(range(1000))
    busy = [r["i"] for r in records if r["who"] == "busy"]
    assert busy == list(range(len(busy)))
    assert sum(r["who"] == "parent" for r in records) == 1
    assert len({r["pid"] for r in records}) == 2


def test_structlog_events_become_records(redis_url: str, client: redis.Redis, key: str) -> None:
    import structlog

    import redislog.structlog

    handler = RedisHandler(url=redis_url, key=key)
    attach(handler, "svc.struct")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            redislog.structlog.to_record,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    try:
        log = structlog.get_logger("svc.struct").bind(request_id="r-1")
        log.info("charged %s", order_id=42, name="shadows LogRecord.name", nested={"a": 1})
        try:
            _ = 1 / 0
        except ZeroDivisionError:
            log.exception("division")
    finally:
        structlog.reset_defaults()
    handler.close()
    first, second = stored(client, key)
    assert first["msg"] == "charged %s"
    assert first["level"] == "INFO"
    assert first["logger"] == "svc.struct"
    assert first["order_id"] == 42
    assert first["request_id"] == "r-1"
    assert first["name"] == "shadows LogRecord.name"
    assert first["nested"] == {"a": 1}
    assert "timestamp" not in first
    assert "extra" not in first
    assert second["exc_type"] == "ZeroDivisionError"
    assert second["level"] == "ERROR"


def test_import_does_not_load_the_viewer_stack() -> None:
    result = run_script(
        """
        import sys, redislog
        print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'typer', 'structlog'}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_bad_configuration_fails_fast() -> None:
    with pytest.raises(ValueError, match="unsupported Redis URL"):
        RedisHandler(url="http://localhost", key="logs:x")
    with pytest.raises(ValueError, match="maxlen"):
        RedisHandler(url="redis://localhost", key="logs:x", maxlen=0)
    with pytest.raises(ValueError, match="reserved"):
        RedisHandler(url="redis://localhost", key=keys.INDEX)


def test_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL is the argument, else REDISLOG_URL, else REDIS_URL; passwords stay hidden."""
    monkeypatch.setenv("REDIS_URL", "redis://other:1/0")
    assert RedisHandler(key="logs:x").target.url == "redis://other:1/0"
    monkeypatch.setenv("REDISLOG_URL", "redis://:pw@mine:2/0")
    handler = RedisHandler(key="logs:x")
    assert handler.target.source == "REDISLOG_URL"
    assert "pw" not in repr(handler)
    assert RedisHandler(key="logs:x", url="unix:///tmp/r.sock").target.source == "argument"


def test_push_script_fans_out_to_live_tails_and_skips_repeats(
    client: redis.Redis, key: str
) -> None:
    """Live tails get every batch in their inbox; expired ones are cleaned away;
    a batch sent again under the same number is stored once."""
    script = client.register_script(scripts.PUSH)
    prefix = keys.inbox(key, "")

    def push(batch: int, *records: bytes) -> Any:
        return script(
            keys=[key, keys.tails(key), keys.gaps(key), keys.meta(key), keys.seen(key, "p1")],
            args=[10, 3, prefix, batch, *records],
        )

    assert push(1, b"a") == []
    now_ms = int(client.time()[0]) * 1000
    client.zadd(keys.tails(key), {"t1": now_ms + 60_000, "gone": now_ms - 1})
    client.rpush(keys.inbox(key, "gone"), b"old")
    push(2, b"b", b"c", b"d", b"e")
    assert client.lrange(key, 0, -1) == [b"e", b"d", b"c", b"b", b"a"]
    assert client.lrange(keys.inbox(key, "t1"), 0, -1) == [b"e", b"d", b"c"]
    assert client.hget(keys.gaps(key), "t1") == b"1"
    assert 0 < client.pttl(keys.inbox(key, "t1")) <= 60_000
    assert client.zrange(keys.tails(key), 0, -1) == [b"t1"]
    assert not client.exists(keys.inbox(key, "gone"))
    assert client.hget(keys.meta(key), "maxlen") == b"10"
    push(2, b"b", b"c", b"d", b"e")
    push(1, b"a")
    assert client.llen(key) == 5
    push(3, b"f")
    assert client.lrange(key, 0, 1) == [b"f", b"e"]
    assert 0 < client.ttl(keys.seen(key, "p1")) <= 86_400


class ChattyRedis(redis.Redis):
    """A client that logs from inside the writer thread."""

    def register_script(self, script: Any) -> Any:
        logging.getLogger("redis.chatty").warning("registering a script")
        logging.getLogger("app.finalizer").warning("from a finalizer run here")
        return super().register_script(script)


def test_redis_client_records_from_the_writer_thread_are_not_shipped(
    shared_server: Server, key: str
) -> None:
    handler = RedisHandler(key=key, client=ChattyRedis(port=shared_server.port))
    root = logging.getLogger()
    root.addHandler(handler)
    logging.getLogger("app.loop").warning("from the app")
    handler.flush()
    handler.flush()
    messages = {r["msg"] for r in stored(shared_server.client(), key)}
    assert messages == {"from the app", "from a finalizer run here"}


def test_handler_filters_still_apply(shared_server: Server, key: str) -> None:
    """emit() runs without the handler lock, but filters still decide."""
    handler = RedisHandler(url=shared_server.url, key=key)
    handler.addFilter(lambda r: r.levelno >= logging.WARNING)
    logger = attach(handler, "app.filtered")
    logger.info("dropped by the filter")
    logger.warning("kept")
    handler.flush()
    assert [r["msg"] for r in stored(shared_server.client(), key)] == ["kept"]
    handler.close()


def test_many_short_lived_threads_are_counted(shared_server: Server, key: str) -> None:
    """Counts stay exact when the threads that logged are gone."""
    handler = RedisHandler(url=shared_server.url, key=key)
    logger = attach(handler, "app.threads")
    for batch in range(5):
        threads = [
            threading.Thread(target=logger.info, args=("t %d", batch * 20 + i)) for i in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    handler.flush()
    handler._writer._retire_tallies()
    assert handler.stats == {"submitted": 100, "delivered": 100, "dropped": 0, "pending": 0}
    assert len(handler._writer._tallies) == 0
    assert shared_server.client().llen(key) == 100
    handler.close()


def test_logging_from_signal_handlers_and_finalizers_never_deadlocks(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Re-entrant log calls (a signal handler, a __del__) interrupting a log call."""
    result = run_script(
        """
        import gc, logging, signal, sys, time
        from redislog import RedisHandler
        handler = RedisHandler(url=sys.argv[1], key=sys.argv[2], maxlen=10**6)
        log = logging.getLogger("reentrant")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        fired = 0
        finalized = []
        def on_alarm(signum, frame):
            global fired
            fired += 1
            log.info("from the signal handler")
        class Noisy:
            def __del__(self):
                log.info("from a finalizer")
                finalized.append(None)  # (atomic: finalizers run in two threads)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        count = 0
        end = time.monotonic() + 2
        while time.monotonic() < end:
            log.info("main %d", count)
            a = Noisy(); a.cycle = a; del a
            count += 1
            if count % 1000 == 0:
                gc.collect()
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        # A collection the writer thread runs may still be finalizing (and
        # gc.collect() returns at once meanwhile): wait for every finalizer.
        deadline = time.monotonic() + 30
        while len(finalized) < count and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.01)
        gc.disable()  # no finalizer may log between flush() and the counts
        handler.flush(10)
        stats = handler.stats
        print(count, len(finalized), fired, stats["delivered"], stats["submitted"])
        """,
        redis_url,
        key,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    count, finalized, fired, delivered, submitted = map(int, result.stdout.split())
    assert fired > 100
    assert finalized == count
    assert delivered == submitted
    # Every call logged once, finalizers included (some run in the writer
    # thread); one more if an alarm was pending when the timer stopped.
    assert 2 * count + fired <= submitted <= 2 * count + fired + 1
    assert client.llen(key) == delivered


def test_asyncio_loop_keeps_running_while_redis_is_frozen(
    server_factory: Callable[..., Server], key: str
) -> None:
    """Logging inside a running event loop never stalls it, even with Redis frozen."""
    server = server_factory()
    handler = RedisHandler(url=server.url, key=key, socket_timeout=0.5)
    logger = attach(handler, "app.async")
    lags: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - t0 - 0.001)

    async def app() -> None:
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stop))
        for i in range(5_000):
            logger.info("request %d", i, extra={"i": i})
            if i % 50 == 0:
                await asyncio.sleep(0)
        stop.set()
        await tick

    server.freeze()
    try:
        asyncio.run(app())
    finally:
        server.thaw()
    handler.flush(15)
    assert [r["i"] for r in stored(server.client(), key)] == list(range(5_000))
    handler.close()
    lags.sort()
    assert lags[int(len(lags) * 0.99)] < 0.1, (
        f"loop lag p99 {lags[int(len(lags) * 0.99)] * 1e3:.2f} ms, max {lags[-1]}"
    )


def test_retries_leave_the_applications_random_sequence_alone(
    server_factory: Callable[..., Server], key: str
) -> None:
    """An application that seeds ``random`` gets the same numbers with or without an outage."""
    server = server_factory(start=False)
    random.seed(7)
    expected = [random.random() for _ in range(5)]
    handler = RedisHandler(url=server.url, key=key, flush_timeout=0.1)
    logger = attach(handler, "app.seeded")
    random.seed(7)
    logger.info("while Redis is down")
    wait_for(lambda: handler._writer._failing, timeout=10)
    time.sleep(0.3)  # several retries, each with its jitter
    assert [random.random() for _ in range(5)] == expected
    handler.close()


def test_batches_stay_under_the_byte_limit(
    redis_url: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large records leave in several batches, each under BATCH_BYTES (one
    record alone may pass it), in order, none lost or repeated."""
    monkeypatch.setattr(writer, "BATCH_BYTES", 20_000)
    sent: list[list[bytes]] = []
    store = scripts.store

    def spy(client: Any, log: str, records: Any, **options: Any) -> Any:
        # As the writer holds them: bulk strings, sent as they are.
        assert isinstance(records, connection.Bulk)
        sent.append(list(records.items))
        return store(client, log, records, **options)

    monkeypatch.setattr(scripts, "store", spy)
    handler = RedisHandler(url=redis_url, key=key, max_record_bytes=64 * 1024)
    logger = attach(handler, "app.large")
    logger.info("first")
    handler.flush(5)
    held = handler._writer
    assert held.pause(time.monotonic() + 5)
    sizes = [3_000, 7_000, 30_000, 1_000, 9_000, 9_000, 9_000, 500, 25_000, 2_000]
    for i, size in enumerate(sizes):
        logger.info("x" * size, extra={"i": i})
    held.resume()
    handler.flush(5)
    later = sent[1:]
    found = [orjson.loads(serialize.unbulk(r))["i"] for batch in later for r in batch]
    assert found == list(range(len(sizes)))
    assert len(later) > 3
    for batch in later:
        assert len(batch) == 1 or sum(map(len, batch)) <= 20_000
    assert [r["i"] for r in stored(redis.Redis.from_url(redis_url), key)[1:]] == list(
        range(len(sizes))
    )
    handler.close()
