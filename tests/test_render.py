"""Output modes, and the safety of every mode against hostile log content."""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from redislog.entry import Entry, decode
from redislog.render import (
    MAX_FIELDS,
    MAX_MESSAGE,
    MAX_VALUE,
    OUTPUTS,
    Renderer,
    escape,
    parse_output,
    use_color,
)
from tests.support.records import decoded

# Today, 01:02:03.456 UTC: no date line before the first record.
_midnight = time.time() // 86400 * 86400
TODAY = _midnight + 3723.456
TRACE = 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: boom'

SGR = re.compile(r"\x1b\[[0-9;]*m")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but \t \n, DEL, C1
INVISIBLE = re.compile(
    "[\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff\U000e0000-\U000e007f]"
)
MARKUP = "[bold red]x[/bold red] [/] [/bold] [link=http://x]y[/link] :cross_mark:"

# Terminal escapes, control and invisible characters, rich markup and emoji codes.
HOSTILE = {
    "clear": "\x1b[2J\x1b[H",
    "sgr": "\x1b[31;1mred\x1b[0m",
    "title_bel": "\x1b]0;pwned\x07",
    "title_st": "\x1b]0;pwned\x1b\\",
    "osc8": "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "osc52": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "dcs": "\x1bP1$r0m\x1b\\",
    "csi8": "\x9b2J\x9d0;t\x9c",
    "nel": "a\x85b",
    "cr": "safe\rEVIL",
    "backspace": "abc\x08\x08\x08XYZ",
    "bidi": "invoice.\u202efdp.exe \u2066x\u2069 \u200f\u061c",
    "zero_width": "a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg",
    "tags": "hi\U000e0041\U000e0042",
    "markup": MARKUP,
    "nul_del": "a\x00b\x7fc",
}


@pytest.fixture
def zone_est() -> Iterator[None]:
    """Local time is US Eastern (no tz database needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "EST+5"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _local_time_is_utc(zone: Callable[[str], None]) -> None:
    """Local time is UTC unless a test says otherwise (--utc would add a Z)."""
    zone("UTC0")


def render(entries: list[Entry] | Entry, output: str = "pretty", **options: Any) -> str:
    buffer = io.StringIO()
    renderer = Renderer(output, file=buffer, **{"color": "never", **options})
    for entry in entries if isinstance(entries, list) else [entries]:
        renderer.write(entry)
    renderer.flush()
    return buffer.getvalue()


def sample(**extra: Any) -> Entry:
    data: dict[str, Any] = {
        "ts": TODAY,
        "level": "ERROR",
        "levelno": 40,
        "logger": "app.db",
        "msg": "query failed",
        "host": "web-1",
        "pid": 7,
        "thread": "MainThread",
        "file": "/srv/app.py",
        "line": 3,
        "func": "run",
        "id": "abc:1",
        "order_id": 42,
        "user": "a b",
        "http": {"status": 500},
        "exc": TRACE,
        "exc_type": "ValueError",
    }
    data.update(extra)
    return decoded(**data)


# -- escape ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain é 😀 日本", "plain é 😀 日本"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb", "a\\rb"),
        ("a\x08b", "a\\x08b"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\x00\x7f\x85\x9b\x9f", "\\x00\\x7f\\x85\\x9b\\x9f"),
        ("\u202e\u2066\u200f\u061c", "\\u202e\\u2066\\u200f\\u061c"),
        ("\u200b\u200d\u2060\ufeff", "\\u200b\\u200d\\u2060\\ufeff"),
        ("\u2028\u2029", "\\u2028\\u2029"),
        ("\ud800", "\\ud800"),
        ("\U000e0041", "\\U000e0041"),
        (MARKUP, MARKUP),
        ("back\\slash", "back\\slash"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    """Control and invisible characters show as visible escapes; text stays."""
    assert escape(text) == expected


def test_escape_newlines() -> None:
    """With newlines=True, newlines and tabs are escaped too."""
    assert escape("a\nb\tc\x1b", newlines=True) == "a\\nb\\tc\\x1b"


# -- pretty ---------------------------------------------------------------------


def test_pretty_line() -> None:
    """pretty: time, level, logger, message, fields, then the traceback under a gutter."""
    assert render(sample()) == (
        '01:02:03.456 ERROR app.db query failed order_id=42 user="a b" http.status=500\n'
        "             │ Traceback (most recent call last):\n"
        '             │   File "x.py", line 1, in <module>\n'
        "             │ ValueError: boom\n"
    )


def test_pretty_levels_and_missing_parts() -> None:
    """pretty: levels five wide and shortened, missing time and level left blank."""
    entries = [
        decoded(ts=TODAY, levelno=10, msg="d"),
        decoded(ts=TODAY, level="info", msg="i"),
        decoded(ts=TODAY, level="warning", msg="w"),
        decoded(ts=TODAY, level="critical", msg="c"),
        decoded(ts=TODAY, level="custom-level", msg="x"),
        decoded(msg="no time, no level"),
        decoded(ts=TODAY, level="INFO", logger="a", k="v"),
    ]
    assert render(entries) == (
        "01:02:03.456 DEBUG d\n"
        "01:02:03.456 INFO  i\n"
        "01:02:03.456 WARN  w\n"
        "01:02:03.456 CRIT  c\n"
        "01:02:03.456 CUSTOM-LEVEL x\n"
        "--:--:--.---       no time, no level\n"
        "01:02:03.456 INFO  a k=v\n"
    )


def test_pretty_local_time(zone_est: None) -> None:
    """pretty shows local time unless --utc."""
    out = render(decoded(ts=TODAY, msg="m"), utc=False)
    assert out.endswith("20:02:03.456       m\n")


def test_pretty_values_are_logfmt_quoted() -> None:
    entry = decoded(
        ts=TODAY,
        msg="m",
        empty="",
        space="a b",
        quote='say "hi"',
        equals="a=b",
        backslash="C:\\tmp",
        newline="a\nb",
        number=1.5,
        flag=True,
        nothing=None,
        items=[1, "two"],
        nested={"a": {"b": 1}, "empty": {}},
        **{"key with space": 1, 'k"q': 2, "k=v": 3, "": 4},
    )
    assert render(entry) == (
        '01:02:03.456       m empty="" space="a b" quote="say \\"hi\\"" equals="a=b"'
        ' backslash="C:\\\\tmp" newline="a\\nb" number=1.5 flag=true nothing=null'
        ' items="[1,\\"two\\"]" nested.a.b=1 nested.empty={}'
        ' key\\x20with\\x20space=1 k\\x22q=2 k\\x3dv=3 ""=4\n'
    )


def test_pretty_multiline_message_is_indented() -> None:
    entry = decoded(
        ts=TODAY, level="INFO", logger="app", msg="first\n01:02:03.456 ERROR app forged\nlast", k=1
    )
    assert render(entry) == (
        "01:02:03.456 INFO  app first k=1\n"
        "             │ 01:02:03.456 ERROR app forged\n"
        "             │ last\n"
    )


def test_pretty_stack() -> None:
    """pretty: a stack goes under its record like a traceback."""
    entry = decoded(ts=TODAY, msg="m", stack="Stack (most recent call last):\n  here\n")
    assert render(entry) == (
        "01:02:03.456       m\n"
        "             │ Stack (most recent call last):\n"
        "             │   here\n"
    )


def test_pretty_problem_records() -> None:
    """pretty: elements that are not records show their problem and text."""
    entries = [
        decode(b"plain text", "k"),
        decode(b"[1, 2]", "k"),
        decode(b'{"msg": "cut', "k"),
        decode(b"line one\nline two", "k"),
        decode(b'{"ts": 1795654923.456, "msg": "caf\xe9"}', "k"),
    ]
    out = render(entries)
    assert out.splitlines()[:5] == [
        "--:--:--.--- [not JSON] plain text",
        "--:--:--.--- [not a JSON object] [1, 2]",
        '--:--:--.--- [invalid JSON] {"msg": "cut',
        "--:--:--.--- [not JSON] line one",
        "             │ line two",
    ]
    assert out.splitlines()[-1].endswith("01:02:03.456       [invalid UTF-8] caf\\xe9")


def test_pretty_show_key() -> None:
    """pretty: each record starts with its log key, escaped, and continuations line up."""
    entries = [
        decode(b'{"msg": "a"}', "logs:one"),
        decode(b'{"msg": "b\\nc"}', "logs:\x1b]0;x\x07"),
    ]
    assert render(entries, show_key=True) == (
        "logs:one --:--:--.---       a\n"
        "logs:\\x1b]0;x\\x07 --:--:--.---       b\n"
        "                               │ c\n"
    )


def test_key_colors_are_stable() -> None:
    def color_of(key: str) -> str:
        out = render(decode(b'{"msg": "m"}', key), show_key=True, color="always")
        match = re.match(r"(\x1b\[[0-9;]*m)", out)
        assert match
        return match.group(1)

    assert color_of("logs:billing") == color_of("logs:billing")
    assert len({color_of(f"logs:{n}") for n in range(20)}) > 3


def test_pretty_colors() -> None:
    """pretty in colour: our own SGR codes around the parts, data escapes dimmed."""
    out = render(sample(), color="always")
    first = out.splitlines()[0]
    assert first == (
        "\x1b[2m01:02:03.456\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mapp.db\x1b[0m"
        " \x1b[31mquery failed\x1b[0m \x1b[2morder_id=\x1b[0m42"
        ' \x1b[2muser=\x1b[0m"a b" \x1b[2mhttp.status=\x1b[0m500'
    )
    assert out.splitlines()[1] == "             \x1b[2m│\x1b[0m Traceback (most recent call last):"
    debug = render(decoded(ts=TODAY, level="debug", msg="d\x1b", k="v"), color="always")
    assert debug == (
        "\x1b[2m01:02:03.456\x1b[0m \x1b[2mDEBUG\x1b[0m \x1b[2md\x1b[0m\x1b[2m\\x1b\x1b[0m"
        " \x1b[2mk=\x1b[0m\x1b[2mv\x1b[0m\n"
    )
    warn = render(decoded(ts=TODAY, level="warning", msg="w\x07"), color="always")
    assert warn == (
        "\x1b[2m01:02:03.456\x1b[0m \x1b[33mWARN\x1b[0m  \x1b[33mw\x1b[0m\x1b[2;33m\\x07\x1b[0m\n"
    )
    critical = render(decoded(ts=TODAY, level="critical", msg="c"), color="always")
    assert "\x1b[1;31mCRIT\x1b[0m" in critical


def test_pretty_date_lines() -> None:
    """pretty: a date line marks each change of day."""
    day = 981158400.0  # 2001-02-03T00:00:00Z
    entries = [
        decoded(ts=day + 10, msg="a"),
        decoded(ts=day + 20, msg="b"),
        decoded(ts=day + 86400, msg="c"),
    ]
    assert render(entries, utc=True) == (
        "── 2001-02-03 UTC ──\n"
        "00:00:10.000Z       a\n"
        "00:00:20.000Z       b\n"
        "── 2001-02-04 UTC ──\n"
        "00:00:00.000Z       c\n"
    )


def test_pretty_single_line() -> None:
    """--single-line: newlines as ``\\n`` and the traceback as a field, on one line."""
    entry = decoded(ts=TODAY, msg="a\nb", exc="T\nE")
    assert render(entry, single_line=True) == '01:02:03.456       a\\nb exc="T\\nE"\n'


def test_long_line_is_not_wrapped_when_piped() -> None:
    entry = decoded(ts=TODAY, msg="word " * 100, k="v " * 50)
    out = render(entry)
    assert out.count("\n") == 1
    assert "  \n" not in out
    assert not out.startswith(" ")


def test_text_for_rich_layouts() -> None:
    """A record as a rich Text prints literally, markup and escapes included."""
    entry = decoded(ts=TODAY, level="error", logger="app", msg=MARKUP + "\x1b[2J")
    renderer = Renderer(file=io.StringIO(), color="never", utc=True)
    text = renderer.text(entry)
    assert isinstance(text, Text)
    assert text.plain == renderer.format(entry).rstrip("\n")
    buffer = io.StringIO()
    # Even a console with markup and emoji on prints a Text literally.
    Console(file=buffer, force_terminal=True, width=500, soft_wrap=True).print(text)
    assert MARKUP in SGR.sub("", buffer.getvalue())
    assert "\x1b[2J" not in buffer.getvalue()
    assert Renderer("cat", file=io.StringIO()).text(entry).plain == MARKUP + "\\x1b[2J"


# -- shortening -----------------------------------------------------------------


def test_shortening_markers() -> None:
    """Long values are cut on screen with a marker saying how much went; --full keeps them."""
    entry = decoded(ts=TODAY, msg="a" * (MAX_MESSAGE + 5), v="é" * (MAX_VALUE + 3))
    out = render(entry)
    assert out == (
        f"01:02:03.456       {'a' * MAX_MESSAGE}…[+5 bytes] v={'é' * MAX_VALUE}…[+6 bytes]\n"
    )
    assert render(entry, output="cat") == f"{'a' * MAX_MESSAGE}…[+5 bytes]\n"
    logfmt = render(entry, output="logfmt")
    assert f'msg="{"a" * MAX_MESSAGE}…[+5 bytes]"' in logfmt
    assert f'v="{"é" * MAX_VALUE}…[+6 bytes]"' in logfmt
    assert "…" not in render(entry, full=True)


def test_too_many_fields() -> None:
    """Fields beyond the limit are counted, not shown, unless --full."""
    entry = decoded(ts=TODAY, msg="m", **{f"f{n}": n for n in range(MAX_FIELDS + 50)})
    out = render(entry)
    assert out.endswith(f" f{MAX_FIELDS - 1}={MAX_FIELDS - 1} …[+50 fields]\n")
    assert "fields_hidden=50" in render(entry, output="logfmt")
    assert f"f{MAX_FIELDS + 49}=" in render(entry, full=True)


def test_ten_megabytes_render_bounded_and_json_whole() -> None:
    raw = orjson.dumps({"ts": TODAY, "msg": "x" * 10_000_000, "blob": "é\x1b" * 1_000_000})
    entry = decode(raw, "k")
    started = time.perf_counter()
    for output in ("pretty", "logfmt", "cat"):
        out = render(entry, output=output)
        assert len(out) < 50_000, output
        assert "…[+" in out
    assert time.perf_counter() - started < 1
    out = render(entry, output="json")
    assert out.isascii()
    assert json.loads(out) == orjson.loads(raw)


# -- logfmt, cat, json ------------------------------------------------------------


def test_logfmt() -> None:
    """logfmt: UTC time, level, logger, quoted message, fields, traceback."""
    iso = time.strftime("%Y-%m-%dT01:02:03.456Z", time.gmtime(TODAY))
    assert render(sample(), output="logfmt") == (
        f'ts={iso} level=error logger=app.db msg="query failed" order_id=42 user="a b"'
        ' http.status=500 exc="Traceback (most recent call last):\\n  File \\"x.py\\",'
        ' line 1, in <module>\\nValueError: boom"\n'
    )


def test_logfmt_problem_records_and_key() -> None:
    """logfmt: elements that are not records give their problem and text."""
    out = render(
        [decode(b"bad \x1b[2J", "logs:a"), decode(b"\xff", "logs:a")],
        output="logfmt",
        show_key=True,
    )
    assert out == (
        'logkey=logs:a problem="not JSON" msg="bad \\x1b[2J"\n'
        'logkey=logs:a problem="invalid UTF-8" msg="\\xff"\n'
    )


def test_cat() -> None:
    """cat: the message only, its further lines indented; no traceback."""
    assert render(sample(), output="cat") == "query failed\n"
    assert render(decoded(msg="a\nb\x1b"), output="cat") == "a\n  b\\x1b\n"
    assert render(decode(b"plain", "k"), output="cat") == "plain\n"
    assert render(decoded(level="info"), output="cat") == "\n"


def test_json_keeps_the_stored_record() -> None:
    raw = b'{"b": 1.50, "a": 1, "a": 2, "big": 123456789012345678901234567890}'
    assert render(decode(raw, "k"), output="json") == raw.decode() + "\n"


def test_json_is_ascii() -> None:
    """json: everything beyond ASCII, DEL and C1 included, is a ``\\u`` escape."""
    raw = orjson.dumps({"msg": "café 😀\u202e\x7f\x85 \x1b"})
    out = render(decode(raw, "k"), output="json")
    assert out == '{"msg":"caf\\u00e9 \\ud83d\\ude00\\u202e\\u007f\\u0085 \\u001b"}\n'
    assert json.loads(out) == orjson.loads(raw)


def test_json_reencodes_what_is_not_strict_single_line_json() -> None:
    assert render(decode(b'{"v": NaN, "w": -Infinity}', "k"), output="json") == (
        '{"v":"NaN","w":"-Infinity"}\n'
    )
    assert render(decode(b'{\n  "msg": "pretty"\n}', "k"), output="json") == '{"msg":"pretty"}\n'
    assert render(decode(b'{"msg": "caf\xe9"}', "k"), output="json") == '{"msg":"caf\\ufffd"}\n'
    assert render(decode(b'{"msg": "a\\ud800"}', "k"), output="json") == '{"msg": "a\\ud800"}\n'


def test_json_problem_records() -> None:
    """json: an element that is not a record becomes {raw, problem}."""
    entries = [decode(b"plain \x1b", "k"), decode(b"[1]", "k"), decode(b"\xff", "k")]
    assert render(entries, output="json").splitlines() == [
        '{"raw":"plain \\u001b","problem":"not JSON"}',
        '{"raw":"[1]","problem":"not a JSON object"}',
        '{"raw":"\\ufffd","problem":"invalid UTF-8"}',
    ]


def test_json_show_key() -> None:
    """json: logkey leads each object when several keys are shown."""
    entries = [
        decode(b'{"msg": "m"}', "logs:a"),
        decode(b"{ }", "logs:a"),
        decode(b'{"v": NaN}', "logs:a"),
        decode(b"junk", "logs:é"),
    ]
    assert render(entries, output="json", show_key=True).splitlines() == [
        '{"logkey":"logs:a","msg": "m"}',
        '{"logkey":"logs:a"}',
        '{"logkey":"logs:a","v":"NaN"}',
        '{"logkey":"logs:\\u00e9","raw":"junk","problem":"not JSON"}',
    ]


# -- hostile content in every mode -------------------------------------------------


def hostile_entries() -> list[Entry]:
    entries = []
    for name, value in HOSTILE.items():
        entries.append(
            decoded(
                ts=TODAY,
                level=f"INFO{value}",
                logger=f"app.{value}",
                msg=f"{name}: {value}",
                **{f"key{value}": value, "nested": {value: [value]}},
                exc=f"Traceback\n{value}",
            )
        )
        entries.append(decode(value.encode("utf-8", "surrogatepass"), f"logs:{value}"))
    entries += [
        decode(b"not json \x1b[2J \xff\xfe", "k"),
        decode(b'["array", "\\u001b[2J"]', "k"),
        decode(b'{"msg": "invalid \xc0\x80 utf-8 \x1b[2J"}', "k"),
        decode(b'{"msg": "n", "v": NaN}', "k"),
        decode(b'{"msg": "lone \\ud800 \\udfff", "k\\udc80": 1}', "k"),
        decode(b'{"msg": "big", "n": ' + b"7" * 5000 + b"}", "k"),
        decode(b"[" * 100_000 + b"]" * 100_000, "k"),
        decode(b'{"msg": "deep", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "k"),
        decode(orjson.dumps({"msg": "huge", "v": ("\x1b[2J" + "x" * 100) * 100_000}), "k"),
    ]
    return entries


def assert_safe(out: str, output: str) -> None:
    assert "\x1b" not in out
    assert RAW_CONTROL.search(out) is None
    assert INVISIBLE.search(out) is None
    assert "❌" not in out
    if output == "json":
        assert out.isascii()
        assert "\t" not in out
        for line in out.splitlines():
            assert isinstance(json.loads(line, parse_int=str), dict)
    else:
        assert MARKUP in out
        assert ":cross_mark:" in out


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("show_key", [False, True])
def test_hostile_content(output: str, show_key: bool) -> None:
    """Hostile content is escaped in every mode, with and without colour."""
    entries = hostile_entries()
    plain = render(entries, output=output, show_key=show_key)
    assert_safe(plain, output)
    colored = render(entries, output=output, show_key=show_key, color="always")
    if output == "pretty":
        assert "\x1b[" in colored
    # Removing our own SGR codes leaves exactly the uncolored output, which
    # has no ESC at all: no data-borne sequence hides among the colors.
    assert SGR.sub("", colored) == plain


def test_hostile_records_cannot_forge_records_in_pretty_mode() -> None:
    entries = hostile_entries()
    out = render(entries)
    record = re.compile(r"^(\d\d:\d\d:\d\d\.\d{3}|--:--:--\.---) ")
    continuation = re.compile(r"^ {13}│ ")
    lines = out.splitlines()
    assert all(record.match(line) or continuation.match(line) for line in lines)
    assert sum(1 for line in lines if record.match(line)) == len(entries)


def test_one_line_per_record_in_json_and_logfmt() -> None:
    entries = hostile_entries()
    assert render(entries, output="json").count("\n") == len(entries)
    assert render(entries, output="logfmt").count("\n") == len(entries)


def test_hostile_key_names() -> None:
    """Hostile log key names are escaped in every mode."""
    entry = decoded(ts=TODAY, msg="m")
    entry.key = "logs:\x1b]8;;http://x\x1b\\\u202e"
    for output in OUTPUTS:
        out = render(entry, output=output, show_key=True, color="always")
        out = SGR.sub("", out)
        assert "\x1b" not in out
        assert INVISIBLE.search(out) is None
    assert render(entry, show_key=True).startswith("logs:\\x1b]8;;http://x\\x1b\\\\u202e ")


_hostile_chars = st.sampled_from(
    list('\x1b\x07\x08\r\n\t\x00\x7f\x85\x9b\u202e\u2066\u200b\ufeff\ud800\U000e0041[]:/=" \\é😀')
)
_text = st.text(alphabet=_hostile_chars | st.characters(), max_size=20)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["ts", "level", "logger", "msg", "exc", "stack"]) | _text,
        _values,
        max_size=6,
    ),
    st.sampled_from(OUTPUTS),
)
def test_any_record_renders_safely(data: dict[str, Any], output: str) -> None:
    raw = json.dumps(data).encode()
    entry = decode(raw, "logs:k")
    for color in ("never", "always"):
        out = render(entry, output=output, color=color)
        out = SGR.sub("", out)
        assert "\x1b" not in out
        assert RAW_CONTROL.search(out) is None
        assert INVISIBLE.search(out) is None
        if output == "json":
            assert out.isascii()
            assert json.loads(out) is not None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=100), st.sampled_from(OUTPUTS))
def test_any_bytes_render_safely(raw: bytes, output: str) -> None:
    out = SGR.sub("", render(decode(raw, "k"), output=output, color="always"))
    assert "\x1b" not in out
    assert RAW_CONTROL.search(out) is None
    assert INVISIBLE.search(out) is None


# -- streams ------------------------------------------------------------------------


def test_lone_surrogates_do_not_break_a_utf8_stream() -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    entry = decode(b'{"msg": "a\\ud800b", "k\\udc80": "\\udfff"}', "k")
    for output in OUTPUTS:
        Renderer(output, file=stream, color="never").write(entry)
    stream.flush()
    text = stream.buffer.getvalue().decode("utf-8")
    assert "a\\ud800b" in text


def test_an_ascii_stream_gets_backslash_escapes() -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    renderer = Renderer(file=stream, color="never")
    renderer.write(decoded(ts=TODAY, msg="café\nnext"))
    renderer.write(decoded(ts=TODAY, msg="x" * (MAX_MESSAGE + 1)))
    stream.flush()
    lines = stream.buffer.getvalue().decode("ascii").splitlines()
    assert lines[0] == "01:02:03.456       caf\\xe9"
    assert lines[1] == "             | next"
    assert lines[2].endswith("x...[+1 bytes]")


def test_broken_pipe_propagates() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    for output in OUTPUTS:
        with pytest.raises(BrokenPipeError):
            Renderer(output, file=Closed()).write(decoded(msg="m"))


# -- options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pretty", "pretty"),
        ("JSON", "json"),
        ("jsonl", "json"),
        ("logfmt", "logfmt"),
        ("cat", "cat"),
        ("raw", "cat"),
    ],
)
def test_parse_output(name: str, expected: str) -> None:
    """Output names in any case, and their aliases jsonl and raw."""
    assert parse_output(name) == expected
    assert Renderer(name, file=io.StringIO()).output == expected


def test_bad_output_and_color() -> None:
    """An unknown output or colour mode is refused with one line."""
    with pytest.raises(
        ValueError, match=r"^unknown output 'xml': use pretty, json, logfmt or cat$"
    ):
        Renderer("xml")
    with pytest.raises(
        ValueError, match=r"^unknown color mode 'sometimes': use auto, always or never$"
    ):
        Renderer(color="sometimes")


@pytest.mark.parametrize(
    ("mode", "tty", "env", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),
        ("auto", True, {"TERM": "dumb"}, False),
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("auto", True, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),
        ("auto", True, {"FORCE_COLOR": "0"}, False),
        ("auto", True, {"FORCE_COLOR": ""}, True),
        ("always", False, {"NO_COLOR": "1", "TERM": "dumb"}, True),
        ("never", True, {"FORCE_COLOR": "1"}, False),
        ("ALWAYS", False, {}, True),
    ],
)
def test_use_color(
    monkeypatch: pytest.MonkeyPatch, mode: str, tty: bool, env: dict[str, str], expected: bool
) -> None:
    """--color auto follows the terminal, NO_COLOR, TERM and FORCE_COLOR; always and never win."""
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = Terminal() if tty else io.StringIO()
    assert use_color(mode, stream) is expected


def test_color_auto_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    terminal = Terminal()
    Renderer(file=terminal).write(decoded(ts=TODAY, level="error", msg="m"))
    assert "\x1b[31m" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    Renderer(file=terminal).write(decoded(ts=TODAY, level="error", msg="m"))
    assert "\x1b" not in terminal.getvalue()


def test_only_pretty_is_colored() -> None:
    for output in ("json", "logfmt", "cat"):
        assert "\x1b" not in render(sample(), output=output, color="always")


def test_fields_that_repeat_the_line_are_left_out_of_the_line_but_not_of_json() -> None:
    """uvicorn's ``color_message`` (the message again, with colour codes) and
    the exception and traceback Celery repeats in ``data`` show only in json."""
    uvicorn = decoded(
        ts=TODAY, level="INFO", levelno=20, logger="uvicorn.error", id="p:1",
        msg="Started server process [7]",
        color_message="Started server process [\x1b[36m%d\x1b[0m]",
    )  # fmt: skip
    celery = decoded(
        ts=TODAY, level="ERROR", levelno=40, logger="celery.app.trace", id="p:2",
        msg="Task t[1] raised unexpected: ValueError('boom')", exc=TRACE,
        data={"id": "1", "name": "t", "exc": "ValueError('boom')", "traceback": TRACE},
    )  # fmt: skip
    for output in ("pretty", "logfmt"):
        shown = render([uvicorn, celery], output)
        assert "color_message" not in shown
        assert "\\x1b" not in shown
        assert shown.count("ValueError: boom") == 1, shown
        assert "data.name=t" in shown
    as_json = [json.loads(line) for line in render([uvicorn, celery], "json").splitlines()]
    assert as_json[0]["color_message"].startswith("Started server process [\x1b[36m")
    assert as_json[1]["data"]["traceback"] == TRACE
