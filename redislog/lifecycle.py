"""Writers across the life of the process: ``fork()``, stopping signals, exits.

fork
    A child forked while a writer thread is importing a module inherits the
    half-imported module and an import lock that nobody will ever release: its
    first import of that module fails or hangs (a web server's worker answering
    500s, say).  So writers import what their first connection needs before
    their thread starts (see ``writer``), and before every ``fork()`` the
    forking thread waits until each writer is between two steps, never inside a
    connect or a send: at most :data:`FIRST_CONNECT_WAIT` seconds while a
    writer has not connected yet (the steps that import), :data:`FORK_WAIT`
    after.  The child gets fresh writers, started by its first record.

Stopping signals
    A process stopped by a signal whose handler is the default dies on the
    spot, without ``atexit``: the records it logged last, still in the buffer,
    would be lost (uvicorn, for one, stops by raising the signal it caught
    again once the previous handler is back).  For SIGTERM, SIGINT, SIGHUP and
    SIGQUIT, where the handler is still the default when a writer is created in
    the main thread, a handler is installed that delivers what is buffered
    (within the writers' flush timeout), puts the default back and raises the
    signal again: the process still dies of that signal.  A handler installed
    by the application later replaces this one, and is left alone.

multiprocessing
    Its children end with ``os._exit()`` once their target returns, which
    skips ``atexit`` and so ``logging.shutdown()``, but they run
    multiprocessing's own finalizers first: writers there are flushed by one.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redislog.writer import Writer

#: Seconds a fork waits for a writer that has connected before.
FORK_WAIT = 0.25
#: Seconds a fork waits for a writer that is still making its first
#: connection, the step that imports modules: a connect and a reply.
FIRST_CONNECT_WAIT = 3.0

_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
# Finalizers with a negative priority run last, after multiprocessing has
# joined the child's own children: whatever they logged is sent too.
_EXIT_PRIORITY = -100

_live: weakref.WeakSet[Writer] = weakref.WeakSet()
_paused: list[Writer] = []
_mask: set[int | signal.Signals] | None = None  # the forking thread's, while it forks
_stopping = False
_finalizer_pid = 0
_after_fork_registered = False


class _Anchor:
    """Something for multiprocessing's after-fork registry to hold weakly."""


_ANCHOR = _Anchor()


def register(writer: Writer, *, signals: bool = True) -> None:
    """Look after *writer* at forks, multiprocessing exits and (unless
    *signals* is false) stopping signals."""
    _live.add(writer)
    if signals:
        _watch_signals()
    _hook_multiprocessing()


def flush_all() -> None:
    """Deliver what every writer holds, within the longest flush timeout."""
    writers = list(_live)
    deadline = time.monotonic() + max((w.flush_timeout for w in writers), default=0.0)
    for writer in writers:
        writer.settle(max(deadline - time.monotonic(), 0.0))


# -- fork -----------------------------------------------------------------------


def _before_fork() -> None:
    global _mask
    _hook_multiprocessing()  # imported since the writers were made, perhaps
    if _wakeup is not None:
        # Until the child has a wakeup pipe of its own, a signal to it would
        # reach the parent's watcher through the pipe they share: hold
        # stopping signals in the forking thread, whose mask the child gets.
        _mask = signal.pthread_sigmask(signal.SIG_BLOCK, _NUMBERS)
    me = threading.get_ident()
    start = time.monotonic()
    for writer in list(_live):
        if writer.thread_id == me:
            continue  # a writer thread that forks (it never does) would wait on itself
        wait = FORK_WAIT if writer.connected else FIRST_CONNECT_WAIT
        if writer.pause(start + wait):
            _paused.append(writer)


def _after_fork_in_parent() -> None:
    while _paused:
        _paused.pop().resume()
    _unmask()


def _after_fork_in_child() -> None:
    global _stopping
    _paused.clear()
    _stopping = False
    for writer in list(_live):
        writer.renew()
    _disarm_inherited()
    for number in _NUMBERS:
        _entered[number] = 0
    ours = _ours()
    if ours and not _arm():
        for number in ours:  # no watcher, no handler
            signal.signal(number, signal.SIG_DFL)
    _unmask()


def _unmask() -> None:
    global _mask
    if _mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, _mask)
        _mask = None


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


# -- stopping signals -------------------------------------------------------------
#
# A handler written in Python runs in the main thread, between two bytecodes.
# A main thread that blocks in a wait the signal does not interrupt (the
# signal went to another thread, or came just before the wait began) would
# never run it, and the process, which the default action would have killed,
# would live on: multiprocessing's Pool.terminate() would wait for it forever.
# So a watcher thread reads the signal numbers Python writes to its wakeup fd,
# and stops the process itself when the main thread has not begun to within
# _GRACE seconds.


def _numbers() -> frozenset[int]:
    return frozenset(getattr(signal, name) for name in _SIGNALS if hasattr(signal, name))


_NUMBERS = _numbers()
# Seconds the watcher leaves the main thread to start the handler.
_GRACE = 0.5
_stop_lock = threading.RLock()
_entered: dict[int, int] = dict.fromkeys(_NUMBERS, 0)
_wakeup: tuple[int, int] | None = None  # this process's pipe: read end, write end
_watchers: dict[int, list[Callable[[], None]]] = {}
_libc: Any = None


def _watch_signals() -> None:
    """Install the delivering handler for the stopping signals whose handler
    is the default, if this process can watch them (see above)."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers
    global _libc
    defaults = [number for number in _NUMBERS if _is_default(number)]
    if defaults and _arm():
        if _libc is None:
            import ctypes  # now, in the main thread: see the fork section

            _libc = ctypes.CDLL(None, use_errno=True)
        for number in defaults:
            signal.signal(number, _on_signal)


def watch(number: int, callback: Callable[[], None]) -> bool:
    """Call *callback*, in the watcher thread, each time signal *number*
    arrives, whether or not the main thread ever runs its handler (see
    above), once however often it is asked; False if this process cannot
    watch.  Main thread only."""
    if not _arm():
        return False
    callbacks = _watchers.setdefault(number, [])
    if callback not in callbacks:
        callbacks.append(callback)
    return True


def _is_default(number: int) -> bool:
    try:
        return signal.getsignal(number) is signal.SIG_DFL
    except (OSError, ValueError):
        return False


def _ours() -> list[int]:
    return [number for number in _NUMBERS if signal.getsignal(number) is _on_signal]


def _arm() -> bool:
    """Own Python's signal wakeup fd and read it in a watcher thread; False
    if something else (an event loop) owns it already."""
    global _wakeup
    if _wakeup is not None:
        return True
    read, write = os.pipe()
    os.set_blocking(write, False)
    try:
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except (OSError, ValueError):
        previous = None
    if previous != -1:
        if previous is not None:
            signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)
        return False
    _wakeup = (read, write)
    threading.Thread(target=_watch, args=(read,), name="redislog-signals", daemon=True).start()
    return True


def _disarm_inherited() -> None:
    """In a forked child: let go of the parent's pipe (its watcher is not here)."""
    global _wakeup
    if _wakeup is None:
        return
    read, write = _wakeup
    _wakeup = None
    try:
        if signal.set_wakeup_fd(-1) != write:
            signal.set_wakeup_fd(-1)  # not ours any more: put nothing back
    except (OSError, ValueError):
        pass
    for fd in (read, write):
        try:
            os.close(fd)
        except OSError:
            pass


def _watch(read: int) -> None:
    # Signals sent to the process then go to a thread that can take them at
    # once: the main thread, unless it blocks them.
    signal.pthread_sigmask(signal.SIG_BLOCK, _NUMBERS)
    while True:
        try:
            data = os.read(read, 64)
        except OSError:
            return  # closed after a fork
        if not data:
            return
        for number in data:
            for callback in _watchers.get(number, ()):
                callback()
            if number in _NUMBERS and signal.getsignal(number) is _on_signal:
                _stop_unless_main_does(number, _entered[number])


def within_grace(done: Callable[[], bool], grace: float = _GRACE) -> bool:
    """Whether *done* comes true within *grace* seconds (looked at every 10
    ms): in the watcher thread, whether the main thread took a signal."""
    deadline = time.monotonic() + grace
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _stop_unless_main_does(number: int, entered: int) -> None:
    if within_grace(lambda: _entered[number] != entered):
        return  # the main thread runs the handler
    # The handler may have been the application's when the signal came.
    if signal.getsignal(number) is _on_signal:
        _stop(number)


def _on_signal(number: int, _frame: FrameType | None) -> None:
    _entered[number] += 1
    _stop(number)


def _stop(number: int) -> None:
    """Deliver what the writers hold, then die of signal *number*.

    The first caller delivers; another (the watcher, or a second signal)
    waits for it, or, in the same thread, ends the process at once.
    """
    global _stopping
    with _stop_lock:
        if not _stopping:
            _stopping = True
            flush_all()
        if threading.current_thread() is threading.main_thread():
            signal.signal(number, signal.SIG_DFL)
        else:  # signal.signal() is for the main thread only
            _libc.signal(number, 0)  # SIG_DFL
        # To the process, not this thread, which may block the signal (the
        # handler runs in the main thread whatever its mask).
        os.kill(os.getpid(), number)
        time.sleep(1.0)  # the signal is on its way


# -- multiprocessing --------------------------------------------------------------


def _hook_multiprocessing() -> None:
    """Have multiprocessing's children flush their writers before ``os._exit()``.

    A forked child inherits the after-fork registry, which multiprocessing runs
    in the child right after clearing its finalizers; a child that creates its
    writer after that (in a Pool initializer, say) registers the finalizer
    itself.
    """
    global _after_fork_registered
    util: Any = sys.modules.get("multiprocessing.util")
    if util is None:
        return  # not imported: no child of multiprocessing to look after yet
    if not _after_fork_registered:
        util.register_after_fork(_ANCHOR, _finalize_child)
        _after_fork_registered = True
    process: Any = sys.modules.get("multiprocessing.process")
    if process is not None and process.parent_process() is not None:
        _finalize_child(_ANCHOR)


def _finalize_child(_anchor: _Anchor) -> None:
    global _finalizer_pid
    if _finalizer_pid == os.getpid():
        return
    _finalizer_pid = os.getpid()
    util: Any = sys.modules["multiprocessing.util"]
    util.Finalize(None, flush_all, exitpriority=_EXIT_PRIORITY)
