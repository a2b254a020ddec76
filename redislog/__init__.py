"""Structured logging to capped Redis lists, and a terminal viewer for them.

``import redislog`` loads nothing else: the handler (and redis-py) when
:class:`RedisHandler` is first used, the viewer's rich and typer only in the
command line, which can then take Ctrl-C from its very start.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing takes a while
if TYPE_CHECKING:
    from typing import Any

    from redislog.handler import RedisHandler

__version__ = "0.1.0"

__all__ = ["RedisHandler", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "RedisHandler":
        from redislog.handler import RedisHandler

        return RedisHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
