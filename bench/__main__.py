"""Run the benchmarks: ``python -m bench [NAME ...] [--rounds N] [--n N]``.

Every module in this package whose name does not start with ``_`` is a
benchmark with a ``main(argv) -> int``; they run in alphabetical order, each
given the same options, so every benchmark accepts ``--rounds`` and ``--n``.
Naming some runs only those, which is also how to pass options that only one
of them knows (``python -m bench handler --cases redis,file``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

# Modules here that are not benchmarks: the soak run has its own target.
NOT_BENCHMARKS = {"soak"}


def discover() -> list[str]:
    """Names of the benchmark modules, in the order they run."""
    here = str(Path(__file__).parent)
    return sorted(
        info.name
        for info in pkgutil.iter_modules([here])
        if not info.name.startswith("_") and info.name not in NOT_BENCHMARKS
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    known = discover()
    chosen: list[str] = []
    while args and not args[0].startswith("-"):
        name = args.pop(0)
        if name not in known:
            print(f"no benchmark {name!r}; there are: {', '.join(known)}", file=sys.stderr)
            return 2
        chosen.append(name)
    status = 0
    for name in chosen or known:
        module = importlib.import_module(f"bench.{name}")
        status = module.main(args) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
