"""The ``redislog`` command line, one module per area: viewing (``tail``,
``search``, ``stats``, ``fields``), logs (``ls``, ``info``), writing
(``send``, ``pipe``), retention (``trim``, ``rm``) and the embedded server
(``server``).

Thin glue: options are parsed here, records are read by ``reader``, filtered
by ``filters`` and written by ``render``.  Data goes to stdout; notices
(which server, reconnecting, records missed) go to stderr, one line each,
with every data-derived character escaped.  Exit status, as grep's: 0 when
something was found or done, 1 when nothing was (no match, no such log key),
2 on any error (usage, connection, authentication, wrong type); 130 on
Ctrl-C, 143 on SIGTERM.

This module stays light: :func:`main` first makes Ctrl-C end the program
quietly, then imports typer, rich and the commands.
"""

from __future__ import annotations

# The C module under ``signal``: the Python one imports enum, which takes a
# few milliseconds during which Ctrl-C would still print a traceback.
import _signal  # type: ignore[import-not-found]
import os
import sys

TYPE_CHECKING = False  # not typing's: nothing is imported before main() runs
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

    from redislog.cli._run import app

__all__ = ["app", "main"]

_INTERRUPTED = 130


def _quit(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while nothing can need cleaning up: end now, silently."""
    os._exit(_INTERRUPTED)


def main() -> None:
    """Entry point: run the command; Ctrl-C at any moment ends it with 130."""
    _signal.signal(_signal.SIGINT, _quit)
    from redislog.cli._run import run  # typer, rich and every command

    code = run()
    _signal.signal(_signal.SIGINT, _quit)
    sys.exit(code)


def __getattr__(name: str) -> Any:
    if name == "app":
        from redislog.cli import _run

        return _run.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
