"""``redislog serve``: an authenticated HTTP API in front of Redis.

Needs the ``web`` extra (``pip install 'redislog[web]'``: Starlette and
uvicorn); nothing here is imported by ``import redislog`` or by the other
commands.

- ``app``: the Starlette application factory, its middleware and security
  headers;
- ``auth``: bearer tokens (or the sign-in cookie) -> a :class:`~redislog.tokens.Token`,
  scope and key checks, slowing down repeated failures;
- ``api``: the endpoints, which reuse the reader, the filters and the
  record schema of the command line;
- ``follow``: one Redis inbox per followed key and filter, fanned out to every
  Server-Sent Events client;
- ``limits``: body and record sizes, records per second per token;
- ``server``: binding and running under uvicorn.
"""

from __future__ import annotations

from redislog.web.app import Settings, create_app

__all__ = ["Settings", "create_app"]
