"""The C allocator's settings for the command's own process.

A viewer works in windows: a megabyte of records joined, lower-cased,
decoded, freed, and the next window the same.  glibc's malloc gives blocks
that large back to the kernel when they are freed (as mappings of their own,
or by trimming the heap's top), and the next window faults every page in
again: 0.4 s of system time in a ``search -g`` over 1,000,000 records, a
third of the command.  Keeping up to :data:`KEEP` bytes of freed memory
makes that 0.05 s.  Only the command line does this: the handler never
changes an application's allocator.
"""

from __future__ import annotations

import ctypes
import sys

#: Freed memory kept for reuse, and the size below which blocks come from the
#: heap: glibc's own ceiling for the threshold it adapts by itself.
KEEP = 32 * 1024 * 1024
# mallopt's parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory for reuse; whether it took both
    settings (elsewhere, nothing is done)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        return False
    # mallopt answers 1 for a setting taken, 0 for one refused.
    return all([mallopt(_M_MMAP_THRESHOLD, KEEP) == 1, mallopt(_M_TRIM_THRESHOLD, KEEP) == 1])
