"""Records logged just before a process ends arrive, however it ends.

Stopping signals whose action is the default, and multiprocessing children
that end with ``os._exit()``, used to lose the last records silently.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.servers import Server
from tests.support import stored

ROOT = Path(__file__).parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# argv: URL KEY FLUSH_TIMEOUT [FLAG_FILE]
CONFIGURE = """
import logging, logging.config, os, signal, sys, time
logging.config.dictConfig({
    "version": 1,
    "handlers": {"redis": {"class": "redislog.RedisHandler", "url": sys.argv[1],
                           "key": sys.argv[2], "flush_timeout": float(sys.argv[3])}},
    "root": {"level": "INFO", "handlers": ["redis"]},
})
log = logging.getLogger("app")
"""


def start(source: str, *args: str) -> subprocess.Popen[str]:
    """Run *source* after CONFIGURE in a fresh interpreter."""
    return subprocess.Popen(
        [sys.executable, "-c", CONFIGURE + textwrap.dedent(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def ready(process: subprocess.Popen[str]) -> None:
    """Wait until *process* prints "ready"."""
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line == "ready\n", (line, process.stderr.read() if process.stderr else "")


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGQUIT"])
def test_a_stopping_signal_delivers_the_last_records_and_still_kills(
    redis_url: str, client: redis.Redis, key: str, name: str
) -> None:
    """A process stopped by a signal whose action is the default stores every
    record it logged, and still dies of that signal."""
    number = getattr(signal, name)
    process = start(
        """
        for i in range(5000):
            log.info("record", extra={"i": i})
        print("ready", flush=True)
        time.sleep(60)
        """,
        redis_url,
        key,
        "5",
    )
    ready(process)
    process.send_signal(number)
    process.communicate(timeout=30)
    assert process.returncode == -number
    assert [r["i"] for r in stored(client, key)] == list(range(5000))


def test_the_process_stops_even_when_its_main_thread_cannot_run_a_handler(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """SIGTERM lands on another thread while the main thread waits in a read
    nothing interrupts (as a Pool worker waiting on its queue's lock may):
    the records are delivered and the process still dies of SIGTERM."""
    process = start(
        """
        for i in range(1000):
            log.info("record", extra={"i": i})
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        read, _ = os.pipe()
        print("ready", flush=True)
        os.read(read, 1)  # forever
        """,
        redis_url,
        key,
        "5",
    )
    ready(process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM
    assert [r["i"] for r in stored(client, key)] == list(range(1000))


@pytest.mark.parametrize("again", [False, True], ids=["once", "twice"])
def test_a_frozen_server_holds_a_stopping_signal_for_the_flush_timeout_at_most(
    server_factory: Callable[..., Server], key: str, tmp_path: Path, again: bool
) -> None:
    """With Redis frozen, SIGTERM waits for delivery up to the flush timeout
    (3 s), says what it gave up on and dies of SIGTERM; a second SIGTERM while
    it waits (with a 120 s timeout) ends it at once."""
    server = server_factory()
    frozen = tmp_path / "frozen"
    process = start(
        """
        log.info("connected")
        logging.getLogger().handlers[0].flush()
        print("ready", flush=True)
        while not os.path.exists(sys.argv[4]):
            time.sleep(0.01)
        log.info("stuck")
        print("ready", flush=True)
        time.sleep(300)
        """,
        server.url,
        key,
        "120" if again else "3",
        str(frozen),
    )
    ready(process)
    server.freeze()
    try:
        frozen.touch()
        ready(process)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        if again:
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=100)
        took = time.monotonic() - started
    finally:
        server.thaw()
    assert process.returncode == -signal.SIGTERM
    if again:
        assert took < 60, took  # the flush timeout was 120 s
    else:
        assert "gave up on 1 unsent log records" in err


def test_a_handler_the_application_installs_is_left_alone(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """An application's own SIGTERM handler, set after the handler was made,
    runs as written (here: exit status 3); the records arrive at exit."""
    process = start(
        """
        def stop(number, frame):
            log.info("stopping")
            sys.exit(3)
        signal.signal(signal.SIGTERM, stop)
        log.info("started")
        print("ready", flush=True)
        time.sleep(60)
        """,
        redis_url,
        key,
        "5",
    )
    ready(process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 3
    assert [r["msg"] for r in stored(client, key)] == ["started", "stopping"]


def test_a_restored_handler_raised_again_delivers_what_came_before(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """The way uvicorn stops: catch SIGTERM, shut down (logging), put the
    previous handler back and raise the signal again."""
    process = start(
        """
        caught = []
        previous = signal.signal(signal.SIGTERM, lambda number, frame: caught.append(number))
        print("ready", flush=True)
        while not caught:
            time.sleep(0.01)
        for i in range(100):
            log.info("shutting down", extra={"i": i})
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
        """,
        redis_url,
        key,
        "5",
    )
    ready(process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM
    assert [r["i"] for r in stored(client, key)] == list(range(100))


def test_signals_are_left_alone_when_asked(redis_url: str, key: str) -> None:
    """``flush_on_signal=False``: no handler, no wakeup fd taken."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import signal, socket, sys
                from redislog import RedisHandler
                handler = RedisHandler(url=sys.argv[1], key=sys.argv[2], flush_on_signal=False)
                a, b = socket.socketpair()
                b.setblocking(False)
                print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
                      signal.set_wakeup_fd(b.fileno()))
                """
            ),
            redis_url,
            key,
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "-1"], result.stderr


def test_a_process_whose_wakeup_fd_is_taken_keeps_default_signals(redis_url: str, key: str) -> None:
    """An event loop owning Python's signal wakeup fd: no handler is installed
    (without the watcher a handler could keep the process from stopping)."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import signal, socket, sys
                a, b = socket.socketpair()
                b.setblocking(False)
                signal.set_wakeup_fd(b.fileno())
                from redislog import RedisHandler
                handler = RedisHandler(url=sys.argv[1], key=sys.argv[2])
                print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
                      signal.set_wakeup_fd(-1) == b.fileno())
                """
            ),
            redis_url,
            key,
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


# -- multiprocessing ---------------------------------------------------------------

MULTIPROCESSING = """
import concurrent.futures, logging, logging.config, multiprocessing, sys

URL, KEY, METHOD, KIND = sys.argv[1:5]
logging.config.dictConfig({
    "version": 1,
    "handlers": {"redis": {"class": "redislog.RedisHandler", "url": URL, "key": KEY}},
    "root": {"level": "INFO", "handlers": ["redis"]},
})
log = logging.getLogger("mp")


def work(child):
    for i in range(1000):
        log.info("work", extra={"child": child, "i": i})
    return child


if __name__ == "__main__":
    context = multiprocessing.get_context(METHOD)
    if KIND == "Process":
        children = [context.Process(target=work, args=(n,)) for n in range(4)]
        for child in children:
            child.start()
        for child in children:
            child.join()
    elif KIND == "Pool":
        with context.Pool(4) as pool:  # its __exit__ terminates the workers
            pool.map(work, range(8))
    elif KIND == "Pool.close":
        pool = context.Pool(4)
        pool.map(work, range(8))
        pool.close()
        pool.join()
    elif KIND == "maxtasksperchild":
        with context.Pool(2, maxtasksperchild=1) as pool:
            pool.map(work, range(8))
    elif KIND == "ProcessPoolExecutor":
        with concurrent.futures.ProcessPoolExecutor(4, mp_context=context) as executor:
            list(executor.map(work, range(8)))
"""


@pytest.mark.parametrize(
    "kind", ["Process", "Pool", "Pool.close", "maxtasksperchild", "ProcessPoolExecutor"]
)
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_children_store_every_record_without_user_code(
    redis_url: str, client: redis.Redis, key: str, tmp_path: Path, method: str, kind: str
) -> None:
    """Children of every start method and kind log 1,000 records each and end
    as multiprocessing ends them (os._exit, or SIGTERM from a Pool's
    terminate); nothing calls flush or shutdown: every record is stored once."""
    script = tmp_path / "app.py"
    script.write_text(MULTIPROCESSING)
    result = subprocess.run(
        [sys.executable, str(script), redis_url, key, method, kind],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = stored(client, key)
    children = 4 if kind == "Process" else 8
    assert sorted((r["child"], r["i"]) for r in records) == [
        (child, i) for child in range(children) for i in range(1000)
    ]
    assert len({r["id"] for r in records}) == len(records)


def test_a_refused_configuration_fails_once_and_exits_cleanly() -> None:
    """A bad URL in dictConfig is reported once; logging's shutdown at
    exit finds no half-made handler to trip over."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import logging.config
                logging.config.dictConfig({
                    "version": 1,
                    "handlers": {"redis": {"class": "redislog.RedisHandler",
                                           "url": "http://cache:6379"}},
                    "root": {"handlers": ["redis"]},
                })
                """
            ),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert result.returncode == 1
    # One report (the ValueError and the dictConfig error it caused), no more.
    assert result.stderr.count("Unable to configure handler 'redis'") == 1, result.stderr
    assert "Error in atexit" not in result.stderr
    assert "unsupported Redis URL 'http://cache:6379'" in result.stderr
    assert "AttributeError" not in result.stderr
