"""Access tokens for ``redislog serve``, kept in Redis so every serve process
behind a load balancer shares them.

A token has a name, a scope, a glob over the log keys it may touch, optional
static fields (added to every record it writes) and an optional expiry.  Its
secret (``rlt_<id>_<random>``) is shown once, when it is made; Redis holds
only a scrypt digest of it, salted with the token's id, in the hash
``redislog:tokens`` (field: the id, value: JSON).  The id in the secret finds
the entry; the digest is compared in constant time.

Scopes nest: ``admin`` may do what ``write`` may, and ``write`` what ``read``
may.  ``read`` lists, searches, follows and counts; ``write`` also stores
records; ``admin`` also manages the logs and tokens.

Checking a secret costs one scrypt computation the first time a process sees
it (a few tens of milliseconds), then one HGET: the digest of a secret is
remembered (bounded), the entry is read each time, so a revoked or expired
token is refused at once by every process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from redislog import keys as keyspace
from redislog.connection import Client

__all__ = [
    "SCOPES",
    "TOKENS",
    "Token",
    "TokenError",
    "Verifier",
    "create",
    "find",
    "listed",
    "may_name",
    "revoke",
]

#: The hash of every token (id -> JSON).
TOKENS = "redislog:tokens"
#: Scopes, weakest first; each may do what the ones before it may.
SCOPES = ("read", "write", "admin")

_PREFIX = "rlt_"
_SECRET = re.compile(r"rlt_([0-9a-f]{16})_([A-Za-z0-9_-]{32,64})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
# scrypt's cost: about 16 MiB and a few tens of milliseconds per digest.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
# Suffixes of the keys redislog derives from a log key (see ``keys``).
_OWN_SUFFIXES = ("tails", "gaps", "meta")
_OWN_INFIXES = (":tail:", ":seen:")


class TokenError(ValueError):
    """A token that cannot be made or found; ``str(exc)`` is one line for the user."""


@dataclass(frozen=True)
class Token:
    """One token, as stored (never its secret)."""

    id: str
    name: str
    scope: str
    keys: str = "*"
    fields: Mapping[str, Any] = field(default_factory=dict)
    created: float = 0.0
    #: Epoch seconds after which the token is refused (None: never).
    expires: float | None = None
    digest: str = ""

    def allows(self, scope: str) -> bool:
        """Whether this token may act with *scope*."""
        return SCOPES.index(self.scope) >= SCOPES.index(scope)

    def may_read(self, key: str) -> bool:
        """Whether *key* is a log key this token's pattern names."""
        return may_name(key) and fnmatchcase(key, self.keys)

    def expired(self, now: float | None = None) -> bool:
        """Whether the token's time is up."""
        return self.expires is not None and (time.time() if now is None else now) >= self.expires

    def as_json(self) -> dict[str, Any]:
        """What ``token ls -o json`` and the API show (no digest)."""
        return {
            "name": self.name,
            "scope": self.scope,
            "keys": self.keys,
            "fields": dict(self.fields),
            "created": self.created,
            "expires": self.expires,
        }

    def _stored(self) -> str:
        return json.dumps({**self.as_json(), "id": self.id, "digest": self.digest})


def may_name(key: str) -> bool:
    """Whether *key* can name a log over HTTP: not empty, not the index, the
    token hash or any other key of redislog's own (``{logs:x}:tails``,
    ``logs:{x}:meta``...)."""
    if not key or key.startswith("redislog:"):
        return False
    for suffix in _OWN_SUFFIXES:
        if key.endswith(":" + suffix) and keyspace._has_hash_tag(key[: -len(suffix) - 1]):
            return False
    for infix in _OWN_INFIXES:
        at = key.rfind(infix)
        if at > 0 and keyspace._has_hash_tag(key[:at]):
            return False
    return True


def _digest(secret: str, token_id: str) -> str:
    raw = hashlib.scrypt(secret.encode(), salt=f"redislog-token:{token_id}".encode(), **_SCRYPT)
    return raw.hex()


def _load(raw: bytes | str) -> Token:
    data = json.loads(raw)
    return Token(
        id=data["id"],
        name=data["name"],
        scope=data["scope"],
        keys=data.get("keys", "*"),
        fields=data.get("fields") or {},
        created=float(data.get("created", 0.0)),
        expires=data.get("expires"),
        digest=data["digest"],
    )


def listed(client: Client) -> list[Token]:
    """Every token, by name."""
    found: Any = client.hgetall(TOKENS)
    tokens = []
    for raw in found.values():
        try:
            tokens.append(_load(raw))
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours: never a way in
    return sorted(tokens, key=lambda token: token.name)


def find(client: Client, name: str) -> Token | None:
    """The token called *name*, if any."""
    for token in listed(client):
        if token.name == name:
            return token
    return None


def create(
    client: Client,
    name: str,
    scope: str,
    *,
    keys: str = "*",
    fields: Mapping[str, Any] | None = None,
    ttl: float | None = None,
) -> tuple[Token, str]:
    """Make a token; returns it and its secret (shown once, stored nowhere).

    Raises:
        TokenError: a bad name, scope or pattern, or the name is taken.
    """
    if not _NAME.fullmatch(name):
        raise TokenError(
            f"bad token name {name!r}: use up to 64 letters, digits and . _ : @ -, "
            "starting with a letter or digit"
        )
    if scope not in SCOPES:
        raise TokenError(f"bad scope {scope!r}: use read, write or admin")
    if not keys or keys.startswith("redislog:"):
        raise TokenError(f"bad key pattern {keys!r}: use a glob over log keys, such as 'logs:*'")
    if find(client, name) is not None:
        raise TokenError(f"a token called {name!r} exists: revoke it first")
    token_id = secrets.token_hex(8)
    secret = f"{_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    now = time.time()
    token = Token(
        id=token_id,
        name=name,
        scope=scope,
        keys=keys,
        fields=dict(fields or {}),
        created=now,
        expires=None if ttl is None else now + ttl,
        digest=_digest(secret, token_id),
    )
    client.hset(TOKENS, token_id, token._stored())
    return token, secret


def revoke(client: Client, name: str) -> Token:
    """Remove the token called *name*.

    Raises:
        TokenError: there is none.
    """
    token = find(client, name)
    if token is None:
        raise TokenError(f"no token called {name!r} (see `redislog token ls`)")
    client.hdel(TOKENS, token.id)
    return token


def count(client: Client) -> int:
    """How many tokens exist (expired ones included)."""
    return int(client.hlen(TOKENS))


class Verifier:
    """Finds the token a secret stands for (see the module's docstring).

    Args:
        remember: how many secrets' digests to keep.
    """

    def __init__(self, remember: int = 1024) -> None:
        self._digests: OrderedDict[str, str] = OrderedDict()
        self._remember = remember

    def digest(self, secret: str) -> tuple[str, str] | None:
        """(token id, digest) of a well-formed *secret*, else None (CPU-bound:
        call it off the event loop)."""
        match = _SECRET.fullmatch(secret)
        if match is None:
            return None
        token_id = match.group(1)
        known = self._digests.get(secret)
        if known is None:
            known = _digest(secret, token_id)
            self._digests[secret] = known
            if len(self._digests) > self._remember:
                self._digests.popitem(last=False)
        else:
            self._digests.move_to_end(secret)
        return token_id, known

    def verify(self, client: Client, secret: str) -> Token | None:
        """The live token *secret* stands for, or None (unknown, revoked, expired)."""
        found = self.digest(secret)
        if found is None:
            return None
        token_id, digest = found
        raw: Any = client.hget(TOKENS, token_id)
        if raw is None:
            return None
        try:
            token = _load(raw)
        except (ValueError, KeyError, TypeError):
            return None
        if not hmac.compare_digest(token.digest, digest) or token.expired():
            return None
        return token
