"""What ``tail`` and ``search`` show: escapes, times, chosen fields, matches,
wrapping, and records other programs wrote."""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata

import pytest
import redis

from redislog import escapes, keys
from redislog._unicode_table import UNIDATA_VERSION
from tests.support import one_line_error, run_cli, run_in_terminal
from tests.support.records import ours, push

MODES = ("pretty", "logfmt", "cat", "json")
# Invisible characters that reached the terminal raw when the unsafe ones were
# a hand-kept list: prepended marks, shorthand format controls, musical
# formatting; and the invisible letters that are not format characters.
INVISIBLE = (
    "\u0600\u06dd\U0001bca0\U0001bca1\U0001bca2\U0001bca3"
    "\U0001d173\U0001d174\U0001d175\U0001d176\U0001d177\U0001d178\U0001d179\U0001d17a"
    "\u115f\u1160\u3164\uffa0\u034f\u17b4\u17b5\u180e\u2028\u2029\u00ad"
)
ALL_CF = "".join(
    chr(point) for point in range(sys.maxunicode + 1) if unicodedata.category(chr(point)) == "Cf"
)


def search(redis_url: str, key: str, *args: str) -> str:
    result = run_cli("search", key, "-q", "--color", "never", *args, "--url", redis_url)
    assert result.returncode == 0, result.stderr
    return result.stdout


def visible(text: str) -> list[str]:
    """The escape each character of *text* must show as."""
    return [escapes.code(char) for char in text]


@pytest.mark.parametrize("output", MODES)
def test_invisible_characters_are_escaped_in_every_mode(
    redis_url: str, client: redis.Redis, key: str, output: str
) -> None:
    """Format characters and invisible letters show as escapes in message,
    logger, field key and value; JSON spells them as \\u escapes."""
    push(
        client,
        key,
        ours(1, f"m{INVISIBLE}", logger=f"app{INVISIBLE}", **{f"k{INVISIBLE}": INVISIBLE}),
    )
    shown = search(redis_url, key, "-o", output)
    for char in INVISIBLE:
        assert char not in shown, f"raw U+{ord(char):04X} in {output} output"
    if output == "json":
        assert shown.isascii()
        assert json.loads(shown)["msg"] == f"m{INVISIBLE}"
    else:
        assert "".join(visible(INVISIBLE)) in shown


def test_variation_selectors_and_private_use_stay(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Emoji keep their variation selectors; icon fonts' private-use characters stay."""
    push(client, key, ours(1, "ok \u2764\ufe0f \ue0a0 \u00a0x"))
    assert "ok \u2764\ufe0f \ue0a0 \u00a0x" in search(redis_url, key, "-o", "cat")


@pytest.mark.parametrize("output", ["pretty", "logfmt", "cat"])
def test_every_format_character_is_escaped(
    redis_url: str, client: redis.Redis, key: str, output: str
) -> None:
    """Every code point of category Cf in this Python's Unicode database."""
    push(client, key, ours(1, ALL_CF))
    shown = search(redis_url, key, "-o", output)
    assert not any(char in shown for char in ALL_CF)
    assert "".join(visible(ALL_CF)) in shown


def test_the_unsafe_table_follows_the_unicode_database() -> None:
    """The shipped table is what ``make unicode`` makes of this Python's
    database, and escape() hides no Cc, Cf, Cs, Zl or Zp code point."""
    if unicodedata.unidata_version == UNIDATA_VERSION:
        with open(escapes._unicode_table.__file__, encoding="utf-8") as shipped:
            assert shipped.read() == escapes.table_module()
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        if unicodedata.category(char) in escapes.CATEGORIES:
            assert escapes.escape(char, newlines=True) == escapes.code(char)


# 2023-11-14T22:13:20.250Z
AT = 1_700_000_000.25


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ((), "17:13:20.250 INFO  app m1"),
        (("--utc",), "22:13:20.250Z INFO  app m1"),
        (("-t", "time"), "17:13:20.250 INFO  app m1"),
        (("--time", "full"), "2023-11-14 17:13:20.250 INFO  app m1"),
        (("-t", "date", "--utc"), "2023-11-14 22:13:20.250Z INFO  app m1"),
        (("-t", "iso"), "2023-11-14T17:13:20.250-05:00 INFO  app m1"),
        (("-t", "ISO", "--utc"), "2023-11-14T22:13:20.250Z INFO  app m1"),
        (("-t", "unix"), "1700000000.250 INFO  app m1"),
    ],
)
def test_time_formats(
    redis_url: str, client: redis.Redis, key: str, args: tuple[str, ...], shown: str
) -> None:
    """-t picks how times show; --utc shows UTC marked Z; local time by default."""
    push(client, key, ours(1, ts=AT))
    result = run_cli("tail", key, "--no-follow", "-q", *args, "--url", redis_url, TZ="EST+5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == shown


def test_relative_times_and_their_column(redis_url: str, client: redis.Redis, key: str) -> None:
    """-t rel shows how long ago, padded so messages line up."""
    now = time.time()
    push(client, key, ours(1, ts=now - 150), ours(2, ts=now - 3 * 3600 - 60))
    lines = search(redis_url, key, "-t", "rel").splitlines()
    assert re.fullmatch(r"2m[345]\ds ago  INFO  app m1", lines[0]), lines
    assert re.fullmatch(r"3h1m ago   INFO  app m2", lines[1]), lines


def test_bad_time_format_is_one_line_and_status_2(redis_url: str, key: str) -> None:
    result = run_cli("search", key, "-t", "yesterday", "--url", redis_url)
    line = one_line_error(result, 2)
    assert "unknown time format 'yesterday': use time, full, iso, unix or rel" in line


def test_fields_picks_what_the_line_shows(redis_url: str, client: redis.Redis, key: str) -> None:
    """--fields shows the named fields in that order, host and pid too;
    --hide drops fields; both in pretty and logfmt."""
    record = ours(1, ts=AT, host="web-1", pid=42, user="ada", http={"status": 500, "ms": 12})
    push(client, key, record)
    assert search(redis_url, key, "--utc").endswith(
        "INFO  app m1 user=ada http.status=500 http.ms=12\n"
    )
    assert search(redis_url, key, "--utc", "--fields", "host,pid").endswith(
        "INFO  app m1 host=web-1 pid=42\n"
    )
    assert search(redis_url, key, "--fields", "http", "--fields", "user").endswith(
        "app m1 http.status=500 http.ms=12 user=ada\n"
    )
    assert search(redis_url, key, "--hide", "http.ms,user").endswith("app m1 http.status=500\n")
    assert search(redis_url, key, "--fields", "*", "--hide", "id,http.*").endswith(
        "app m1 host=web-1 pid=42 user=ada\n"
    )
    assert search(redis_url, key, "-o", "logfmt", "--fields", "pid,user") == (
        "ts=2023-11-14T22:13:20.250Z level=info logger=app msg=m1 pid=42 user=ada\n"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("--fields", "host,,pid"),
            "bad --fields 'host,,pid': use field names separated by commas",
        ),
        (("--hide", ""), "bad --hide '': use field names separated by commas"),
        (("--fields", "host", "-o", "json"), "--fields and --hide apply to pretty and logfmt"),
    ],
)
def test_bad_field_lists_are_one_line_and_status_2(
    redis_url: str, key: str, args: tuple[str, ...], words: str
) -> None:
    result = run_cli("tail", key, *args, "--url", redis_url)
    assert words in one_line_error(result, 2)


REVERSE = "\x1b[7m"


def test_grep_matches_are_marked_in_colour(redis_url: str, client: redis.Redis, key: str) -> None:
    """-g marks each match in the message and traceback, never a field; data
    that looks like markup stays text; without colour nothing is marked."""
    trace = "Traceback (most recent call last):\nTimeoutError: [bold]timeout[/bold]"
    push(client, key, ours(1, "db timeout, again a TIMEOUT", exc=trace, note="timeout"))
    args = ("-g", "timeout", "-q", "--url", redis_url)
    result = run_cli("search", key, *args, "--color", "always")
    assert result.returncode == 0, result.stderr
    _, first, *traceback = result.stdout.splitlines()  # after the date line
    assert f"db {REVERSE}timeout\x1b[0m, again a {REVERSE}TIMEOUT\x1b[0m" in first
    assert "note=\x1b[0mtimeout" in first  # fields are not searched, so not marked
    assert (f"{REVERSE}Timeout\x1b[0mError: [bold]{REVERSE}timeout\x1b[0m[/bold]") in traceback[-1]
    plain = run_cli("search", key, *args, "--color", "never")
    assert "\x1b" not in plain.stdout
    assert "db timeout, again a TIMEOUT" in plain.stdout


def test_cat_prints_the_message_only(redis_url: str, client: redis.Redis, key: str) -> None:
    """-o cat: the message and its further lines, no traceback or stack;
    the other modes keep the traceback."""
    trace = "Traceback (most recent call last):\nValueError: boom"
    push(client, key, ours(1, "failed\nsecond line", exc=trace, stack="Stack:\n  here"))
    assert search(redis_url, key, "-o", "cat") == "failed\n  second line\n"
    assert "ValueError: boom" in search(redis_url, key)
    assert "ValueError: boom" in search(redis_url, key, "-o", "logfmt")


def test_key_prefixes_are_padded_so_columns_line_up(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """With several log keys, each record's key is padded to the widest one;
    continuation lines stay under the gutter."""
    short, wide = f"{key}:a", f"{key}:a-much-longer-name"
    push(client, short, ours(1, "first\nnext", ts=AT))
    push(client, wide, ours(2, ts=AT + 1))
    lines = search(redis_url, f"{key}:*", "--utc").splitlines()
    assert lines[1:] == [
        f"{short}{' ' * (len(wide) - len(short))} 22:13:20.250Z INFO  app first",
        f"{' ' * (len(wide) + 15)}│ next",
        f"{wide} 22:13:21.250Z INFO  app m2",
    ]


def test_pretty_wraps_under_the_message_on_a_narrow_terminal(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """On a terminal 60 columns wide, a long line wraps under its message and
    a long further line or traceback line under its text, never at column 0;
    a pipe gets whole lines."""
    message = "the database connection failed after many retries and a long wait"
    trace = "Traceback (most recent call last):\n"
    trace += '  File "/srv/shop/payments/a/long/path/module.py", line 38'
    push(client, key, ours(1, f"{message}\nsecond line of the message, also quite long indeed",
                           ts=AT, exc=trace, user="ada lovelace", order_id=1042))  # fmt: skip
    args = ("search", key, "--utc", "-q", "--color", "never", "--url", redis_url)
    code, shown, _ = run_in_terminal(*args, columns=60)
    assert code == 0, shown
    assert shown.replace("\r\n", "\n").splitlines()[1:] == [
        "22:13:20.250Z INFO  app the database connection failed after",
        "                        many retries and a long wait",
        '                        user="ada lovelace" order_id=1042',
        "              │ second line of the message, also quite long",
        "                indeed",
        "              │ Traceback (most recent call last):",
        '              │   File "/srv/shop/payments/a/long/path/modul',
        '                e.py", line 38',
    ]
    piped = search(redis_url, key, "--utc")
    assert f"INFO  app {message} user=" in piped


def test_raw_control_bytes_inside_json_strings_still_make_a_record(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Another program's JSON with a raw control byte in a string is read as
    a record (strict parsers refuse it), the byte shown escaped."""
    client.lpush(key, b'{"message":"a\x01b\x1b[2J","level":"warning","user":"x\ty"}')
    client.sadd(keys.INDEX, key)
    assert search(redis_url, key).endswith('WARN  a\\x01b\\x1b[2J user="x\\ty"\n')
    assert (
        search(redis_url, key, "-o", "logfmt")
        == 'level=warning msg="a\\x01b\\x1b[2J" user="x\\ty"\n'
    )
    assert search(redis_url, key, "-o", "cat") == "a\\x01b\\x1b[2J\n"
    assert json.loads(search(redis_url, key, "-o", "json")) == {
        "message": "a\x01b\x1b[2J", "level": "warning", "user": "x\ty",
    }  # fmt: skip
    assert search(redis_url, key, "-k", "user~x.y", "-o", "cat") == "a\\x01b\\x1b[2J\n"


def test_invalid_utf8_shows_the_bytes_that_were_wrong(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """Undecodable bytes show as \\xNN in every mode but JSON (U+FFFD there:
    strict JSON has no lone surrogates)."""
    client.lpush(key, b'{"msg":"caf\xe9 ok","user":"\xff"}', b"plain \xc3\x28 text")
    client.sadd(keys.INDEX, key)
    pretty = search(redis_url, key).splitlines()
    assert pretty[0].endswith('[invalid UTF-8] caf\\xe9 ok user="\\xff"')
    assert pretty[1].endswith("[invalid UTF-8] plain \\xc3( text")
    assert search(redis_url, key, "-o", "cat") == "caf\\xe9 ok\nplain \\xc3( text\n"
    assert search(redis_url, key, "-o", "logfmt").splitlines()[0] == (
        'msg="caf\\xe9 ok" problem="invalid UTF-8" user="\\xff"'
    )
    assert [json.loads(line) for line in search(redis_url, key, "-o", "json").splitlines()] == [
        {"msg": "caf\ufffd ok", "user": "\ufffd"},
        {"raw": "plain \ufffd( text", "problem": "invalid UTF-8"},
    ]


def test_ls_wraps_a_long_key_name_within_its_column(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """On a terminal, a very long key name wraps within the KEY column (its
    further parts indented) and the other columns stay aligned; a pipe gets
    the names whole."""
    long = f"{key}:{'x' * 120}:end"
    push(client, f"{key}:short", ours(1, ts=AT))
    push(client, long, ours(2, ts=AT))
    code, shown, _ = run_in_terminal("ls", f"{key}:*", "--utc", "--url", redis_url, columns=100)
    assert code == 0, shown
    lines = [line for line in shown.replace("\r\n", "\n").splitlines() if line]
    table = lines[lines.index(next(line for line in lines if line.startswith("KEY"))) :]
    assert all(len(line) <= 100 for line in table), table
    header = table[0]
    column = header.index("RECORDS") + len("RECORDS")
    rows = [line for line in table[1:] if not line.startswith("  ")]
    assert len(rows) == 2
    for row in rows:
        assert row[column - 1] == "1"  # right-aligned under RECORDS
        assert row.endswith("2023-11-14 22:13:20Z  2023-11-14 22:13:20Z      0")
    names: list[str] = []
    for line in table[1:]:
        if line.startswith("  "):
            names[-1] += line[2:]
        else:
            names.append(line[: header.index("RECORDS") - 2].rstrip())
    assert sorted(names) == sorted([long, f"{key}:short"])
    piped = run_cli("ls", f"{key}:*", "--url", redis_url)
    assert long in piped.stdout


def test_json_results_of_stats_and_fields_hold_no_lone_surrogates(
    redis_url: str, client: redis.Redis, key: str
) -> None:
    """stats -o json and fields -o json give undecodable bytes as U+FFFD, so a
    strict parser (one that refuses lone surrogates) reads them."""
    client.lpush(key, b'{"ts":1790000000.0,"level":"info","logger":"caf\xe9","msg":"m","u\xff":1}')
    client.sadd(keys.INDEX, key)
    for command in ("stats", "fields"):
        result = run_cli(command, key, "-o", "json", "--url", redis_url)
        assert result.returncode == 0, result.stderr
        assert "\\udc" not in result.stdout, command
        assert "\\ufffd" in result.stdout, command
        json.loads(result.stdout)
