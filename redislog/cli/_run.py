"""Running the app: every way a command can end is one line on stderr (or
none) and an exit status, never a traceback or click's usage block."""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import typer

from redislog import lifecycle
from redislog.cli._allocator import keep_freed_memory
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
    keep_freed_memory()
    lifecycle.watch(signal.SIGINT, _unless_taken)
    sys.unraisablehook = _unraisable
    try:
        # From here on Ctrl-C raises KeyboardInterrupt, so that a command can
        # clean up on its way out (a tail unregisters its inbox).  Set inside
        # the try: until then Ctrl-C ends the program at once (see main()),
        # and a KeyboardInterrupt outside it would show a traceback.
        signal.signal(signal.SIGINT, _interrupt)
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


# -- a Ctrl-C the main thread never takes ------------------------------------------
#
# Python runs a signal's handler in the main thread, between two bytecodes: a
# Ctrl-C that lands just before the main thread blocks in a wait it does not
# interrupt may never be handled, and one whose handler runs inside a
# finalizer (a ``__del__``) raises a KeyboardInterrupt that the interpreter
# swallows.  Either way the command would go on; so the signal watcher counts
# each Ctrl-C, and ends the process if the handler has not taken it in time.

#: Seconds the main thread has to take a Ctrl-C.
_GRACE = 0.15
_arrived = 0  # Ctrl-Cs the watcher saw
_taken = 0  # Ctrl-Cs the handler took


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _taken
    _taken += 1
    raise KeyboardInterrupt


def _unless_taken() -> None:
    """In the watcher thread: end the process if the main thread does not
    take this Ctrl-C within the grace time."""
    global _arrived
    _arrived += 1

    def settled() -> bool:
        return _taken >= _arrived or signal.getsignal(signal.SIGINT) is not _interrupt

    if not lifecycle.within_grace(settled, _GRACE):
        os._exit(INTERRUPTED)  # no flush: the main thread may hold the streams' locks
    if _taken < _arrived:
        _arrived -= 1  # a command with a handler of its own (serve's server) took it


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        _leave()  # swallowed in a finalizer: the command would go on
    sys.__unraisablehook__(unraisable)
