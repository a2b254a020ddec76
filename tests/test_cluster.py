"""Redis Cluster: a plain URL of one node; keys spread over three masters."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from redislog import RedisHandler, keys
from tests.servers import Cluster
from tests.support import Background, attach, one_line_error, run_cli, run_with_input, wait_for


def handlers(url: str, names: list[str], prefix: str) -> dict[str, Any]:
    """A dictConfig section: one RedisHandler per log key, one logger each."""
    return {
        "handlers": {
            f"{prefix}{n}": {"class": "redislog.RedisHandler", "url": url, "key": name}
            for n, name in enumerate(names)
        },
        "loggers": {
            f"{prefix}{n}": {"handlers": [f"{prefix}{n}"], "level": "INFO", "propagate": False}
            for n in range(len(names))
        },
    }


def flush(prefix: str, count: int) -> None:
    for n in range(count):
        for handler in logging.getLogger(f"{prefix}{n}").handlers:
            handler.flush()


def test_four_keys_on_three_masters_then_tail_and_search(
    cluster: Cluster, configure: Callable[[dict[str, Any]], None], key: str
) -> None:
    """Done when: 4 keys x 1,000 records all stored, a tail sees its 1,000, search finds 10."""
    names = cluster.spread(key, 4)
    assert len({cluster.node_of(name).port for name in names}) == 3
    url = cluster.nodes[1].url  # any node will do
    admin = cluster.client()
    admin.sadd(keys.INDEX, names[0])  # the app ran before
    tail = Background("tail", names[0], "-o", "json", "--url", url)
    try:
        wait_for(lambda: admin.zcard(keys.tails(names[0])) == 1, timeout=20)
        configure(handlers(url, names, "cluster.app"))
        for i in range(1000):
            for n in range(4):
                logging.getLogger(f"cluster.app{n}").info("record %d", i, extra={"i": i})
        flush("cluster.app", 4)
        for name in names:
            stored = [json.loads(raw)["i"] for raw in admin.lrange(name, 0, -1)]
            assert sorted(stored) == list(range(1000)), name
        lines = tail.wait_lines(1000, timeout=60)
        assert [json.loads(line)["i"] for line in lines] == list(range(1000))
    finally:
        assert tail.stop() == 130
    assert admin.zcard(keys.tails(names[0])) == 0
    result = run_cli("search", names[2], "-k", "i>=990", "-o", "json", "-q", "--url", url)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["i"] for line in result.stdout.splitlines()] == list(range(990, 1000))
    admin.close()


def test_globs_tail_ls_and_search_across_nodes(cluster: Cluster, key: str) -> None:
    """One tail follows keys on three nodes; ls and search cover them all."""
    names = cluster.spread(key, 3)
    loggers = []
    for name in names:
        logger = attach(RedisHandler(url=cluster.url, key=name), f"glob.{name}")
        logger.info("first", extra={"key": name, "i": -1})
        loggers.append(logger)
    for logger in loggers:
        logger.handlers[0].flush()
    admin = cluster.client()
    tail = Background("tail", f"{key}:*", "-n", "0", "-o", "json", "--url", cluster.url)
    try:
        wait_for(lambda: all(admin.zcard(keys.tails(name)) == 1 for name in names), timeout=20)
        for i in range(200):
            for name, logger in zip(names, loggers, strict=True):
                logger.info("record %d", i, extra={"key": name, "i": i})
        for logger in loggers:
            logger.handlers[0].flush()
        lines = tail.wait_lines(600, timeout=60)
        seen = Counter((record["key"], record["i"]) for record in map(json.loads, lines))
        assert seen == Counter((name, i) for name in names for i in range(200))
    finally:
        assert tail.stop() == 130
        for logger in loggers:
            logger.handlers[0].close()
    listed = run_cli("ls", f"{key}:*", "--url", cluster.url)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [(row[0], row[1]) for row in rows] == [(name, "201") for name in names]
    found = run_cli(
        "search", f"{key}:*", "--limit", "all", "-o", "json", "-q", "--url", cluster.url
    )
    assert found.returncode == 0, found.stderr
    records = [json.loads(line) for line in found.stdout.splitlines()]
    assert Counter((r["key"], r["i"]) for r in records) == Counter(
        (name, i) for name in names for i in range(-1, 200)
    )
    times = [r["ts"] for r in records]
    assert times == sorted(times)  # merged by time across the nodes
    admin.close()


def test_consumers_pop_from_every_node(cluster: Cluster, key: str) -> None:
    """--consume over keys on three nodes takes each record once and empties them."""
    names = cluster.spread(key, 3)
    for name in names:
        handler = RedisHandler(url=cluster.url, key=name)
        logger = attach(handler, f"consume.{name}")
        for i in range(100):
            logger.info("record %d", i, extra={"key": name, "i": i})
        handler.close()
    consumer = Background("tail", f"{key}:*", "--consume", "-o", "json", "--url", cluster.url)
    try:
        lines = consumer.wait_lines(300, timeout=30)
    finally:
        consumer.stop()
    seen = Counter((record["key"], record["i"]) for record in map(json.loads, lines))
    assert seen == Counter((name, i) for name in names for i in range(100))
    admin = cluster.client()
    assert [admin.llen(name) for name in names] == [0, 0, 0]
    admin.close()


def test_info_names_the_cluster_and_a_cluster_has_only_db_0(cluster: Cluster) -> None:
    info = run_cli("info", "--url", cluster.nodes[2].url)
    assert info.returncode == 0, info.stderr
    assert "mode:     cluster of 3 masters" in info.stdout
    url = cluster.url.rsplit("/", 1)[0] + "/1"
    error = one_line_error(run_cli("ls", "--url", url), 2)
    assert "a cluster has only db 0" in error


def test_send_pipe_stats_trim_and_rm_on_a_cluster(cluster: Cluster, key: str) -> None:
    """The commands that write or remove logs route each key to its own master."""
    names = cluster.spread(key, 2)
    url = cluster.nodes[2].url
    admin = cluster.client()
    first, second = names
    sent = run_cli("send", first, "disk full", "-p", "error", "used=0.97", "--url", url)
    assert (sent.returncode, sent.stderr) == (0, ""), sent.stderr
    piped = run_with_input(
        "pipe", second, "--url", url, data=b"".join(b"%d\n" % i for i in range(500))
    )
    assert piped.returncode == 0, piped.stderr
    assert [json.loads(raw)["msg"] for raw in reversed(admin.lrange(second, 0, -1))] == [
        str(i) for i in range(500)
    ]
    found = run_cli("search", first, "-p", "error", "-k", "used>0.9", "-o", "json", "--url", url)
    assert [json.loads(line)["msg"] for line in found.stdout.splitlines()] == ["disk full"]

    stats = run_cli("stats", *names, "-o", "json", "--url", url)
    assert stats.returncode == 0, stats.stderr
    counted = json.loads(stats.stdout)
    assert (counted["records"], counted["levels"], counted["errors"]) == (
        501,
        {"ERROR": 1, "INFO": 500},
        1,
    )

    listed = run_cli("ls", "--url", url)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert (rows[first][1], rows[second][1]) == ("1", "500")

    old = run_cli("trim", second, "--older-than", "0s", "--url", url)
    assert old.returncode == 0, old.stderr
    assert admin.llen(second) == 0

    gone = run_cli("rm", first, "--yes", "--url", url)
    assert gone.returncode == 0, gone.stderr
    assert not admin.exists(first)
    assert not admin.sismember(keys.INDEX, first)
    assert not list(admin.scan_iter(match=f"{{{first}}}*"))
