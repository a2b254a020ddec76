"""Hostile log content: what must never reach a terminal unescaped."""

from __future__ import annotations

import json
import re

# Hostile and foreign list elements: every mode must show them, escaped.
HOSTILE_ELEMENTS = [
    b"plain text \x1b[2J cleared?",
    b"\xff\xfe invalid utf-8 \x9b31m",
    b'{"msg": "unterminated',
    b"[1, 2, 3]",
    b"12345678901234567890123456789012345678901234567890",
    b"[" * 5000 + b"]" * 5000,
    json.dumps(
        {
            "ts": 1700000000.25,
            "level": "ERROR",
            "levelno": 40,
            "logger": "evil\x1b]0;title\x07",
            "msg": "[bold red]x[/bold red] :cross_mark: \x1b]8;;http://e.vil\x1b\\link\x1b]8;;\x1b\\",
            "id": "p:1",
            "\x1b[31mkey": "value\u202e\r\x08\x85",
            "osc52": "\x1b]52;c;cHduZWQ=\x07",
            "dcs": "\x1bP1;2q\x1b\\",
        }
    ).encode(),
    json.dumps({"event": "structlog says hi", "timestamp": "2026-01-02T03:04:05Z"}).encode(),
    json.dumps({"message": "logstash says hi", "@timestamp": "2026-01-02T03:04:06Z"}).encode(),
    json.dumps({"msg": "huge", "blob": "x" * 3_000_000}).encode(),
    b'{"ts": 1e999, "levelno": 99999999999999999999999999, "msg": {"nested": [1, {"a": null}]}}',
]
SGR = re.compile(r"\x1b\[[0-9;]*m")
RAW_CONTROLS = ["\x1b", "\x07", "\x9b", "\x85", "\u202e", "\r", "\x08"]


def assert_no_raw_controls(text: str) -> None:
    """No control character of :data:`RAW_CONTROLS` reached *text* unescaped."""
    for char in RAW_CONTROLS:
        assert char not in text, f"raw {char!r} in output"
