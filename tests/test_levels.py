"""One level vocabulary: names, aliases, letters and numbers, and one label for
a level number in every command."""

from __future__ import annotations

import json

import pytest
import redis

from redislog import keys, levels
from tests.support import run_cli
from tests.support.records import element


@pytest.mark.parametrize(
    ("word", "number"),
    [("warn", 30), ("FATAL", 50), ("e", 40), ("n", 25), ("notice", 25), ("42", 42),
     (" info ", 20), ("loud", None), ("-5", None)],
)  # fmt: skip
def test_a_level_is_a_name_an_alias_a_letter_or_a_number(word: str, number: int | None) -> None:
    assert levels.number(word) == number


def test_a_number_shows_its_name_or_level_and_the_number() -> None:
    assert [levels.label(n) for n in (5, 25, 30, 55, 42, None)] == [
        "TRACE", "NOTICE", "WARNING", "ALERT", "LEVEL 42", "none",
    ]  # fmt: skip


def test_a_number_between_two_names_is_coloured_like_the_lower_one() -> None:
    assert [levels.color_key(n) for n in (None, 1, 10, 25, 35, 45, 99)] == [
        "none", "trace", "debug", "notice", "warning", "error", "emergency",
    ]  # fmt: skip


def test_every_command_shows_the_same_label_for_a_level_number(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """A record with only a level number (25, 42) shows as NOTICE or LEVEL 42 in
    tail, search and stats alike, and send writes the same names."""
    client.lpush(
        key,
        element(ts=1_700_000_000, levelno=25, msg="only a number"),
        element(ts=1_700_000_001, level=42, msg="a number as the level"),
    )
    client.sadd(keys.INDEX, key)
    url = ("--url", redis_url)
    tail = run_cli("tail", key, "--no-follow", "-o", "logfmt", "-q", *url)
    search = run_cli("search", key, "-o", "logfmt", "-q", *url)
    pretty = run_cli("search", key, "--utc", "-q", *url)
    for result in (tail, search):
        assert result.returncode == 0, result.stderr
        assert [line.split()[1] for line in result.stdout.splitlines()] == [
            "level=notice", 'level="level',
        ]  # fmt: skip
    records = [line for line in pretty.stdout.splitlines() if not line.startswith("─")]
    assert [line.split()[1:3] for line in records] == [
        ["NOTICE", "only"], ["LEVEL", "42"],
    ]  # fmt: skip
    stats = run_cli("stats", key, "-o", "json", "-q", *url)
    assert json.loads(stats.stdout)["levels"] == {"NOTICE": 1, "LEVEL 42": 1}
    for level in ("25", "notice", "n", "42"):
        assert run_cli("send", f"{key}:sent", "m", "-p", level, *url).returncode == 0
    sent = [json.loads(raw)["level"] for raw in client.lrange(f"{key}:sent", 0, -1)]
    assert sent == ["LEVEL 42", "NOTICE", "NOTICE", "NOTICE"]
