"""A real headless Chromium driven by Playwright, and ``redislog serve`` for it.

The browser is Playwright's own build when ``playwright install chromium``
could fetch it, else the distribution's ``/usr/bin/chromium`` (``make
install`` sets up one or the other).  It runs with a fresh profile and without
the background services that stall on a machine without outside network.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.support.polling import wait_for

DISTRIBUTION_CHROMIUM = "/usr/bin/chromium"
#: Flags for a machine with no outside network (and root, which needs no sandbox).
FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
]
#: Rows the view keeps at most (``CAP`` in ``static/view.js``).
CAP = 2000


def chromium_path(playwright: Playwright) -> str:
    """Playwright's own Chromium if installed, else the distribution's."""
    bundled = playwright.chromium.executable_path
    if bundled and Path(bundled).exists():
        return bundled
    if Path(DISTRIBUTION_CHROMIUM).exists():
        return DISTRIBUTION_CHROMIUM
    raise AssertionError(
        "no Chromium: run `make install` (playwright install chromium, "
        "else apt-get install chromium)"
    )


@contextlib.contextmanager
def launched(playwright: Playwright) -> Iterator[Browser]:
    """A headless Chromium (Playwright gives each launch a fresh profile
    directory of its own, which is what ``--user-data-dir`` would do)."""
    args = list(FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    browser = playwright.chromium.launch(
        executable_path=chromium_path(playwright), headless=True, args=args
    )
    try:
        yield browser
    finally:
        browser.close()


class Watched:
    """A page whose console errors, page errors and CSP reports are kept."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def sign_in(self, base: str, secret: str, next_path: str = "/logs") -> None:
        page = self.page
        page.goto(f"{base}{next_path}")
        page.wait_for_url("**/signin**")
        page.fill("#token", secret)
        page.click("#signin button[type=submit]")
        page.wait_for_url(f"**{next_path.split('?')[0]}**")


def rows(page: Page) -> list[str]:
    """The ids of the rows the view shows, top to bottom."""
    ids: list[str] = page.eval_on_selector_all(
        "#rows .row[data-id]", "nodes => nodes.map(n => n.dataset.id)"
    )
    return ids


def wait_rows(page: Page, predicate: Any, timeout: float = 30, what: str = "rows") -> list[str]:
    """Wait until ``predicate(rows(page))``; the rows then."""
    found: list[str] = []

    def check() -> bool:
        nonlocal found
        found = rows(page)
        return bool(predicate(found))

    wait_for(check, timeout, every=0.1, what=lambda: f"{what}: {found[-10:]}")
    return found


def state(page: Page) -> str:
    value = page.get_attribute("#toggle", "data-state")
    return value or ""


def settle(seconds: float) -> None:
    time.sleep(seconds)


def shop_records(now: float, count: int = 600) -> dict[str, list[bytes]]:
    """*count* records of a web shop, as two services log them
    (for the screenshots): access logs, database, payments, a traceback."""
    import random

    from tests.support.records import ours

    rng = random.Random(7)
    web: list[bytes] = []
    worker: list[bytes] = []
    paths = ["/", "/cart", "/checkout", "/api/items", "/api/items/42", "/login"]
    trace = (
        "Traceback (most recent call last):\n"
        '  File "shop/payments.py", line 88, in charge\n'
        "    response = gateway.charge(order.total, card)\n"
        '  File "shop/gateway.py", line 31, in charge\n'
        "    raise GatewayTimeout(f'no answer in {self.timeout}s')\n"
        "shop.gateway.GatewayTimeout: no answer in 5.0s"
    )
    for i in range(count):
        ts = now - (count - i) * 1.7
        roll = rng.random()
        if i % 3:
            status = 500 if roll < 0.04 else 404 if roll < 0.1 else 200
            path = rng.choice(paths)
            levelno = 40 if status >= 500 else 30 if status >= 400 else 20
            web.append(
                ours(i, f"GET {path} {status}", ts=ts, levelno=levelno, logger="shop.access",
                     status=status, ms=rng.randint(2, 900), ip=f"10.0.{i % 7}.{i % 250}")
            )  # fmt: skip
        elif roll < 0.05:
            worker.append(
                ours(i, f"payment failed for order {1000 + i}", ts=ts, levelno=40,
                     logger="shop.payments", exc=trace, exc_type="GatewayTimeout",
                     order=1000 + i)
            )  # fmt: skip
        elif roll < 0.2:
            worker.append(
                ours(
                    i, "slow query", ts=ts, levelno=30, logger="shop.db", ms=rng.randint(300, 2000)
                )
            )
        elif roll < 0.3:
            worker.append(ours(i, "cache refreshed", ts=ts, levelno=10, logger="shop.cache"))
        else:
            worker.append(
                ours(i, f"order {1000 + i} shipped", ts=ts, logger="shop.orders",
                     order=1000 + i, items=rng.randint(1, 5))
            )  # fmt: skip
    return {"logs:shop:web": web, "logs:shop:worker": worker}
