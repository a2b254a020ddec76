"""The ``redislog`` command line, one module per area: viewing (``tail``,
``search``, ``stats``), logs (``ls``, ``info``), writing (``send``, ``pipe``)
and retention (``trim``, ``rm``).

Thin glue: options are parsed here, records are read by ``reader``, filtered
by ``filters`` and written by ``render``.  Data goes to stdout; notices
(which server, reconnecting, records missed) go to stderr, one line each,
with every data-derived character escaped.  Usage errors exit with 2, other
failures with 1 (``search`` also exits with 1 when nothing matched, as grep
does), Ctrl-C with 130.
"""

from __future__ import annotations

import importlib
import sys

from redislog.cli._app import app
from redislog.cli._session import silence_stdout

__all__ = ["app", "main"]

# Each area adds its commands as it is imported, in the order --help lists them.
for _area in ("viewing", "logs", "writing", "retention"):
    importlib.import_module(f"redislog.cli.{_area}")


def main() -> None:
    """Entry point: run the app; a closed pipe (``| head``) ends quietly."""
    try:
        app()
    except BrokenPipeError:
        silence_stdout()
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)
