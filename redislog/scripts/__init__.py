"""Server-side Lua scripts, each beside the one function that runs it: the
writer's (``writing``), the live tail's (``tailing``), the search's
(``scanning``) and retention's (``trimming``); ``lua`` runs them.

Each script runs atomically on the server, so a batch lands whole or not at
all, and a tail's registration and its backlog read happen at one instant.
Every key a script touches shares the log key's hash slot (see ``keys``).

Nothing else calls a script: each function here builds its script's KEYS and
ARGV and returns the reply as a named result (an enum for its status).  A
script is sent by its SHA1 and loaded on a server that lacks it; it is
registered once per client, so a new connection costs no extra round trip.
"""

from __future__ import annotations

from redislog.scripts.lua import Anchor, WindowStatus
from redislog.scripts.scanning import SCAN, ScanReply, scan
from redislog.scripts.tailing import (
    ATTACH,
    BACKLOG,
    FOLLOW,
    HEARTBEAT,
    AttachReply,
    BacklogReply,
    Cursor,
    Follow,
    FollowReply,
    HeartbeatReply,
    Registration,
    attach,
    backlog,
    follow,
    heartbeat,
)
from redislog.scripts.trimming import TRIM, TrimReply, TrimStatus, trim
from redislog.scripts.writing import PUSH, PushReply, Stored, WrongType, push, store

__all__ = [
    "ATTACH",
    "BACKLOG",
    "FOLLOW",
    "HEARTBEAT",
    "PUSH",
    "SCAN",
    "TRIM",
    "Anchor",
    "AttachReply",
    "BacklogReply",
    "Cursor",
    "Follow",
    "FollowReply",
    "HeartbeatReply",
    "PushReply",
    "Registration",
    "ScanReply",
    "Stored",
    "TrimReply",
    "TrimStatus",
    "WindowStatus",
    "WrongType",
    "attach",
    "backlog",
    "follow",
    "heartbeat",
    "push",
    "scan",
    "store",
    "trim",
]
