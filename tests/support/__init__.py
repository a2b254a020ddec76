"""Helpers and factories shared by the tests (the fixtures are in ``conftest``).

- ``polling``: :func:`wait_for`, the one way to wait for a condition;
- ``handlers``: logging through a real handler, reading records back;
- ``records``: list elements, entries and batches to store;
- ``processes``: the command line and scripts in fresh interpreters;
- ``hostile``: log content that must never reach a terminal as is;
- ``acl``: the README's least-privilege users.
"""

from __future__ import annotations

from tests.support.handlers import attach, log_records, stored
from tests.support.polling import wait_for, wait_until_following
from tests.support.processes import (
    Background,
    cli_env,
    one_line_error,
    redislog_command,
    run_cli,
    run_in_terminal,
    run_script,
    run_with_input,
)

__all__ = [
    "Background",
    "attach",
    "cli_env",
    "log_records",
    "one_line_error",
    "redislog_command",
    "run_cli",
    "run_in_terminal",
    "run_script",
    "run_with_input",
    "stored",
    "wait_for",
    "wait_until_following",
]
