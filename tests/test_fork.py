"""``fork()`` at any instant leaves a child whose imports work and whose records arrive.

A fork that lands while the writer thread is importing a module (its first
connection imports the idna codec and ``email.parser``) used to leave the
child with a half-imported module and an import lock nobody releases.  These
tests make that window wide on purpose (imports slowed down, a server slow to
answer the first commands) and fork inside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from redislog import embedded
from tests.proxy import Proxy
from tests.servers import Server
from tests.support import stored

ROOT = Path(__file__).parent.parent

# Every module a first connection imports takes 30 ms to run (as on a cold
# disk or a busy machine): a wide window for a fork to land in.
SLOW_IMPORTS = """
import importlib.machinery, sys, time

SLOW = {"encodings.idna", "stringprep", "unicodedata", "email.parser", "email.feedparser"}

class SlowImports:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in SLOW:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = spec.loader

        class Slow:
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                time.sleep(0.03)
                loader.exec_module(module)

        spec.loader = Slow()
        return spec

sys.meta_path.insert(0, SlowImports)
"""

# The child checks its imports (with an alarm, should one hang on a lock
# nobody holds), logs, and exits; the parent reports how the child ended.
FORK_AND_CHECK = """
import os, signal, time
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    "x".encode("idna")
    import email.parser, unicodedata
    log.info("child", extra={"run": RUN})
    sys.exit(0)
deadline = time.monotonic() + 30
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        status = -1
        break
    time.sleep(0.01)
print("child:", os.waitstatus_to_exitcode(status) if status != -1 else "hung")
"""


def run_python(
    source: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_forks_during_the_first_connection_leave_working_children(
    server_factory: Callable[..., Server], key: str
) -> None:
    """Forks at 12 instants of a slow first connection (slow imports, a server
    holding its first reply 60 ms): every child imports, logs and delivers."""
    server = server_factory()
    proxy = Proxy(server.port)
    proxy.hold(0.06)
    offsets = [0.0, 0.001, 0.002, 0.004, 0.007, 0.01, 0.015, 0.02, 0.03, 0.045, 0.06, 0.09]
    try:
        for run, offset in enumerate(offsets):
            result = run_python(
                SLOW_IMPORTS
                + textwrap.dedent(
                    f"""
                    import logging
                    from redislog import RedisHandler
                    RUN = {run}
                    log = logging.getLogger("app")
                    log.addHandler(RedisHandler(url=sys.argv[1], key=sys.argv[2]))
                    log.setLevel(logging.INFO)
                    log.info("parent", extra={{"run": RUN}})
                    time.sleep({offset})
                    """
                )
                + textwrap.dedent(FORK_AND_CHECK),
                proxy.url,
                key,
            )
            assert result.returncode == 0, result.stderr
            assert "child: 0" in result.stdout, (offset, result.stdout, result.stderr)
    finally:
        proxy.close()
    got = sorted((r["msg"], r["run"]) for r in stored(server.client(), key))
    assert got == sorted((who, run) for run in range(len(offsets)) for who in ("parent", "child"))


def test_a_fork_waits_for_a_writer_importing_what_redislog_never_heard_of(
    redis_url: str, client: redis.Redis, key: str, tmp_path: Path
) -> None:
    """A module the writer thread imports on its first connection (here, a
    custom connection class's, taking 300 ms) is whole in a child forked
    meanwhile: the fork waits until the writer is between two steps."""
    (tmp_path / "slowmod.py").write_text("import time\ntime.sleep(0.3)\nREADY = True\n")
    result = run_python(
        textwrap.dedent(
            """
        import logging, sys, time
        import redis
        from redislog import RedisHandler

        class Connection(redis.Connection):
            def connect(self, *args, **kwargs):
                import slowmod  # first imported here, in the writer thread
                return super().connect(*args, **kwargs)

        client = redis.Redis.from_url(sys.argv[1], connection_class=Connection)
        RUN = 0
        log = logging.getLogger("app")
        log.addHandler(RedisHandler(key=sys.argv[2], client=client))
        log.setLevel(logging.INFO)
        log.info("parent", extra={"run": RUN})
        time.sleep(0.1)  # the writer is inside "import slowmod" now
        started = time.monotonic()
        """
        )
        + textwrap.dedent(FORK_AND_CHECK).replace(
            "import email.parser, unicodedata", "import slowmod; assert slowmod.READY"
        )
        + 'print("writer imported slowmod:", "slowmod" in sys.modules)\n',
        redis_url,
        key,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "child: 0" in result.stdout, (result.stdout, result.stderr)
    assert "writer imported slowmod: True" in result.stdout
    assert sorted(r["msg"] for r in stored(client, key)) == ["child", "parent"]


def test_a_fork_does_not_wait_for_a_frozen_server_for_long(
    server_factory: Callable[..., Server], key: str
) -> None:
    """With Redis frozen mid-send, a fork waits at most a quarter of a second
    for the writer (it connected before), and the child's records arrive once
    Redis is back."""
    server = server_factory()
    source = """
        import logging, os, sys, time
        from redislog import RedisHandler
        RUN = 0
        handler = RedisHandler(url=sys.argv[1], key=sys.argv[2], flush_timeout=20)
        log = logging.getLogger("app")
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.info("connected", extra={"run": RUN})
        handler.flush()
        print("frozen?", flush=True)
        sys.stdin.readline()  # the test freezes the server
        log.info("parent", extra={"run": RUN})
        time.sleep(0.2)  # the writer is stuck in its send
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            log.info("child", extra={"run": RUN})
            sys.exit(0)
        print(f"fork took {time.monotonic() - started:.3f}", flush=True)
        os.waitpid(pid, 0)
        """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source), server.url, key],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == "frozen?\n"
        server.freeze()
        process.stdin.write("\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line.startswith("fork took "), line
        assert float(line.split()[-1]) < 1.0
    finally:
        server.thaw()
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    got = sorted(r["msg"] for r in stored(server.client(), key))
    assert got == ["child", "connected", "parent"]


@pytest.mark.parametrize("run", range(20))
def test_every_record_of_a_fork_pool_is_stored(
    redis_url: str, client: redis.Redis, key: str, run: int
) -> None:
    """A script logs, then a fork Pool's 4 workers log 2,000 records; no
    flush or shutdown call anywhere: every record is stored once."""
    result = run_python(
        """
        import logging, logging.config, multiprocessing, sys
        logging.config.dictConfig({
            "version": 1,
            "handlers": {"redis": {"class": "redislog.RedisHandler",
                                   "url": sys.argv[1], "key": sys.argv[2]}},
            "root": {"level": "INFO", "handlers": ["redis"]},
        })
        log = logging.getLogger("pool")

        def work(job):
            for i in range(50):
                log.info("work", extra={"job": job, "i": i})
            return job

        log.info("starting")
        with multiprocessing.get_context("fork").Pool(4) as pool:
            assert pool.map(work, range(40)) == list(range(40))
        """,
        redis_url,
        key,
    )
    assert result.returncode == 0, result.stderr
    records = stored(client, key)
    work = [(r["job"], r["i"]) for r in records if r["msg"] == "work"]
    assert sorted(work) == [(job, i) for job in range(40) for i in range(50)]
    assert len({r["id"] for r in records}) == len(records) == 2001


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """The embedded server's directory (the autouse fixture points it at tmp)."""
    path = embedded.home()
    yield path
    embedded.stop(path)


@pytest.mark.parametrize("where", ["tcp", "embedded"])
def test_a_first_connection_imports_nothing_once_the_handler_is_made(
    redis_url: str, embedded_home: Path, where: str
) -> None:
    """What the writer's first connection would import (the idna codec,
    email.parser...) is imported when the handler is made, in the caller's
    thread: nothing is left to import in the writer thread, where a fork
    could catch it half done."""
    result = run_python(
        """
        import logging, sys
        from redislog import RedisHandler
        handler = RedisHandler(url=sys.argv[1] or None, key="logs:imports")
        before = set(sys.modules)
        logging.getLogger().addHandler(handler)
        logging.getLogger().warning("first")
        handler.flush()
        assert handler.stats["delivered"] == 1, handler.stats
        print(sorted(set(sys.modules) - before))
        """,
        redis_url if where == "tcp" else "",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
