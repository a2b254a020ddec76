"""Running the app: every way a command can end is one line on stderr (or
none) and an exit status, never a traceback or click's usage block."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence

import typer

from redislog.cli._app import app
from redislog.cli._session import ERROR, FOUND, INTERRUPTED, fail, silence_stdout

try:  # typer 0.28 and later carry their own click
    from typer._click import exceptions as clicks
except ImportError:  # pragma: no cover - older typer
    from click import exceptions as clicks  # type: ignore[no-redef]

__all__ = ["app", "run"]

# Each area adds its commands as it is imported, in the order --help lists them.
for _area in ("viewing", "logs", "writing", "retention", "server", "serving"):
    importlib.import_module(f"redislog.cli.{_area}")


def run(args: Sequence[str] | None = None) -> int:
    """Run the command *args* (default: the command line); its exit status."""
    # From here on Ctrl-C raises KeyboardInterrupt, so that a command can
    # clean up on its way out (a tail unregisters its inbox).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = _status(app(args=args, prog_name="redislog", standalone_mode=False))
    except clicks.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # the help, as asked for
            code = exc.exit_code
        else:
            code = _one_line(_usage(exc), exc.exit_code)
    except clicks.ClickException as exc:
        code = _one_line(exc.format_message(), ERROR)
    except typer.Abort:
        code = INTERRUPTED
    except KeyboardInterrupt:
        code = INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        code = FOUND
    if code == INTERRUPTED:
        _leave()
    return code


def _status(result: object) -> int:
    return result if isinstance(result, int) else FOUND


def _usage(exc: clicks.UsageError) -> str:
    """click's message, as one line in the style of the others."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    if exc.ctx is not None:
        message += f" (see {exc.ctx.command_path} --help)"
    return message


def _one_line(message: str, code: int) -> int:
    with contextlib.suppress(typer.Exit):
        fail(message, code)
    return code


def _leave() -> None:
    """End at once after Ctrl-C: what the command had to clean up it did on
    its way out; threads still blocked on a frozen server are not waited for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(INTERRUPTED)
