"""Benchmarks for redislog, kept apart from the tests: ``make bench``.

Each public module here is one benchmark with a ``main(argv) -> int`` entry
point; ``python -m bench`` runs them all in turn (see ``bench.__main__``).
"""
