"""Structured logging to capped Redis lists, and a terminal viewer for them.

``import redislog`` loads only the write side (the handler and its
dependencies); the viewer's rich and typer are imported by the CLI alone.
"""

from __future__ import annotations

from redislog.handler import RedisHandler

__version__ = "0.1.0"

__all__ = ["RedisHandler", "__version__"]
