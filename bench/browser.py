"""Browser viewer benchmark: following a busy log in headless Chromium.

A private redis-server, ``redislog serve`` in front of it (a process of its
own, as users run it), and the view page in a real headless Chromium (the one
the tests drive).  Once the page follows the key, this process stores
``--rate`` records a second (default 1,000) for ``--seconds`` (default 60), in
batches of ten every 10 ms through the writer's own script, each record's
``ts`` the time it is stored.  The page meanwhile keeps:

- **longest task**: the longest main-thread task the browser reports
  (``PerformanceObserver`` of ``longtask``, which sees every task over 50 ms;
  "< 50" when there was none);
- **log to row**: for every row the page adds, the time from the record's
  ``ts`` to the moment the row is in the page (a ``MutationObserver``; the
  frame is painted right after), median, 95th percentile and max;
- **most rows**: the most rows the page ever held (the cap is 2,000).

Then **first screen**: ``--first-n`` records (default 1,000,000) are stored in
one key (pipelined, 1,000 a call), and the time from asking for its view
(signed in already) until the page shows its newest 200 rows is taken, once
per round.

At the end every record must have arrived (the last one shown, the rows the
newest ones in order), or the run fails.  The table shows medians over the
rounds, with min-max.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from playwright.sync_api import sync_playwright

from bench._server import private_server
from tests.support.browser import CAP, Watched, launched, rows, state
from tests.support.polling import wait_for
from tests.support.records import ours, push
from tests.support.web import Served, make_token

KEY = "logs:bench:browser"
OBSERVE = """() => {
  window.__long = [];
  window.__lag = [];
  window.__most = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__long.push(entry.duration);
  }).observe({ type: "longtask", buffered: false });
  const rows = document.getElementById("rows");
  new MutationObserver((mutations) => {
    const now = Date.now() / 1000;
    for (const m of mutations) {
      for (const node of m.addedNodes) {
        if (node.dataset && node.dataset.ts) window.__lag.push(now - Number(node.dataset.ts));
      }
    }
    window.__most = Math.max(window.__most, rows.childElementCount);
  }).observe(rows, { childList: true });
}"""


class BenchError(RuntimeError):
    """The page did not show what was logged: the numbers mean nothing."""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench browser",
        description="Follow a busy log in the browser viewer (headless Chromium).",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds (default 1)")
    parser.add_argument("--n", type=int, default=None, help="(unused: see --rate, --seconds)")
    parser.add_argument("--rate", type=int, default=1000, help="records a second (default 1000)")
    parser.add_argument("--seconds", type=float, default=60, help="how long (default 60)")
    parser.add_argument(
        "--first-n", type=int, default=1_000_000, help="records for the first screen (1000000)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.rate < 10 or args.seconds < 1:
        parser.error("--rounds >= 1, --rate >= 10, --seconds >= 1")
    return args


def _round(
    browser: Any, served: Served, client: Any, rate: int, seconds: float, at: int
) -> dict[str, float]:
    key = f"{KEY}:{at}"
    push(client, key, ours(0, ts=time.time()))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        watched = Watched(context)
        page = watched.page
        watched.sign_in(served.base, make_token(client), f"/view?key={key}")
        wait_for(lambda: state(page) == "live", 30, what="the page to follow")
        page.evaluate(OBSERVE)
        total = int(rate * seconds)
        batch = 10
        started = time.monotonic()
        for n, first in enumerate(range(1, total + 1, batch)):
            now = time.time()
            push(
                client, key, *(ours(i, ts=now) for i in range(first, min(first + batch, total + 1)))
            )
            delay = started + (n + 1) * batch / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent_for = time.monotonic() - started
        last = f"p:{total}"
        wait_for(lambda: rows(page)[-1:] == [last], 60, what="the last record on the page")
        shown = rows(page)
        expected = [f"p:{i}" for i in range(max(0, total - CAP + 1), total + 1)]
        if shown != expected[-len(shown) :] or len(shown) != min(CAP, total + 1):
            raise BenchError(f"the page shows {len(shown)} rows, not the newest {CAP} in order")
        longest: list[float] = page.evaluate("window.__long")
        lag: list[float] = sorted(page.evaluate("window.__lag"))
        most = page.evaluate("window.__most")
        if most > CAP:
            raise BenchError(f"the page held {most} rows, over its cap of {CAP}")
        if watched.errors:
            raise BenchError(f"the page said: {watched.errors[:3]}")
        return {
            "rate": total / sent_for,
            "longest": max(longest, default=0.0),
            "long_tasks": len(longest),
            "lag_p50": statistics.median(lag) * 1000,
            "lag_p95": lag[int(len(lag) * 0.95)] * 1000,
            "lag_max": lag[-1] * 1000,
            "rows": len(lag),
            "most": most,
        }
    finally:
        context.close()


def _fill(client: Any, key: str, n: int) -> None:
    """*n* records in *key*, oldest first, a second apart up to now."""
    from redislog import keys as keyspace

    now = time.time()
    pipe = client.pipeline(transaction=False)
    for first in range(0, n, 1000):
        pipe.lpush(key, *(ours(i, ts=now - n + i) for i in range(first, min(first + 1000, n))))
        if len(pipe) >= 50:
            pipe.execute()
    pipe.sadd(keyspace.INDEX, key)
    pipe.execute()


def _first_screen(browser: Any, served: Served, client: Any, key: str, n: int) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        watched = Watched(context)
        page = watched.page
        watched.sign_in(served.base, make_token(client), "/logs")
        newest = f"p:{n - 1}"
        started = time.monotonic()
        page.goto(f"{served.base}/view?key={key}")
        page.wait_for_function(
            "id => document.querySelectorAll('#rows .row').length >= 200 && "
            "document.querySelector('#rows .row:last-child').dataset.id === id",
            arg=newest,
            timeout=60_000,
            polling="raf",
        )
        took = time.monotonic() - started
        if watched.errors:
            raise BenchError(f"the page said: {watched.errors[:3]}")
        return took * 1000
    finally:
        context.close()


def _cell(values: list[float], unit: str, floor: float | None = None) -> str:
    middle = statistics.median(values)
    if floor is not None and middle < floor:
        return f"< {floor:g} {unit}"
    if len(values) == 1:
        return f"{middle:,.0f} {unit}"
    return f"{middle:,.0f} {unit} ({min(values):,.0f}-{max(values):,.0f})"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    results: list[dict[str, float]] = []
    try:
        with private_server() as server, sync_playwright() as playwright:
            client = server.client()
            served = Served(server.url)
            try:
                with launched(playwright) as browser:
                    version = browser.version
                    for at in range(args.rounds):
                        results.append(_round(browser, served, client, args.rate, args.seconds, at))
                    big = f"{KEY}:big"
                    _fill(client, big, args.first_n)
                    for result in results:
                        result["first"] = _first_screen(browser, served, client, big, args.first_n)
            finally:
                served.stop()
                client.close()
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    column = lambda name: [r[name] for r in results]  # noqa: E731
    print(
        "\n".join(
            [
                f"browser viewer: follow {args.rate:,} records/s for {args.seconds:g} s in "
                f"headless Chromium {version}, {args.rounds} round(s), median (min-max)",
                f"  records stored per second      {_cell(column('rate'), '/s')}",
                f"  longest main-thread task       {_cell(column('longest'), 'ms', floor=50)}",
                f"  tasks over 50 ms               {_cell(column('long_tasks'), '')}",
                f"  log to row, median             {_cell(column('lag_p50'), 'ms')}",
                f"  log to row, 95th percentile    {_cell(column('lag_p95'), 'ms')}",
                f"  log to row, max                {_cell(column('lag_max'), 'ms')}",
                f"  most rows in the page          {_cell(column('most'), '')} (cap {CAP:,})",
                f"  first screen of {args.first_n:,} records  {_cell(column('first'), 'ms')}",
            ]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
