"""The README's least-privilege users, exactly as its ACL SETUSER lines say."""

from __future__ import annotations

import re
import shlex

import redis

from tests.servers import Server, version
from tests.support.processes import ROOT

README = ROOT / "README.md"
SECRETS = {"logwriter": "writer-secret", "logreader": "reader-secret"}


def readme_acl() -> dict[str, list[str]]:
    """The README's ACL SETUSER lines, by the Redis version that heads their block."""
    found: dict[str, list[str]] = {}
    for title, body in re.findall(
        r"```text\n# Redis (\d+\.\d+)[^\n]*\n(.*?)```", README.read_text(), re.S
    ):
        found[title] = [line for line in body.splitlines() if line.startswith("ACL SETUSER")]
    return found


def variants() -> list[str]:
    """The README's user sets this server can run: 6.2's, and 7.0's on Redis 7."""
    return ["6.2", "7.0"] if version() >= (7,) else ["6.2"]


def load_users(server: Server, variant: str) -> redis.Redis:
    """Create the README's users of *variant* on *server*; an admin client."""
    admin = server.client()
    for line in readme_acl()[variant]:
        admin.execute_command(*shlex.split(line))
    return admin


def as_user(server: Server, user: str) -> str:
    """The URL of *server* for the README's *user*."""
    return f"redis://{user}:{SECRETS[user]}@127.0.0.1:{server.port}/0"
