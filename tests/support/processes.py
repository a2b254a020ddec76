"""Running code and the command line in fresh interpreters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tests.support.polling import wait_for

ROOT = Path(__file__).parent.parent.parent


def run_script(source: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run *source* in a fresh interpreter (no pytest warning filters, real exit)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``redislog`` command: this checkout, no colour settings."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    env.update(extra)
    return env


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m redislog ARGS`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "redislog", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
    )


def run_with_input(
    *args: str, data: bytes, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m redislog ARGS`` with *data* on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "redislog", *args],
        input=data,
        capture_output=True,
        timeout=timeout,
        env=cli_env(),
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one ``redislog: ...`` line a failed command printed, having exited with *code*."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("redislog: ")
    return lines[0]


class Background:
    """``python -m redislog ARGS`` running in the background, its lines collected."""

    def __init__(self, *args: str, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "redislog", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=cli_env(**env),
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        """Wait until *predicate* holds; fail at once if the command exits first."""

        def holds() -> bool:
            if predicate():
                return True
            if self.process.poll() is not None:
                for reader in self._readers:
                    reader.join(1)  # let the readers catch up
                if predicate():
                    return True
                raise AssertionError(f"exited with {self.process.returncode}: {self.errors[-5:]}")
            return False

        wait_for(
            holds,
            timeout,
            every=0.01,
            what=lambda: f"{len(self.lines)} lines so far, stderr {self.errors[-5:]}",
        )

    def wait_lines(self, count: int, timeout: float = 20.0) -> list[str]:
        """Wait for *count* lines on stdout; all of them so far."""
        self.wait_for(lambda: len(self.lines) >= count, timeout)
        return self.lines

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send *sig* and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    def kill(self) -> None:
        """End the command at once."""
        if self.process.poll() is None:
            self.process.kill()
        self.stop()


def redislog_command() -> list[str]:
    """The installed ``redislog`` command (the console script), else ``python -m redislog``."""
    script = Path(sys.executable).parent / "redislog"
    return [str(script)] if script.exists() else [sys.executable, "-m", "redislog"]


def run_in_terminal(
    *args: str,
    columns: int = 80,
    stdout_terminal: bool = True,
    react: Callable[[str], None] | None = None,
    timeout: float = 60,
    **env: str,
) -> tuple[int, str, str]:
    """Run ``python -m redislog ARGS`` with stderr (and stdout, unless
    *stdout_terminal* is false) on a terminal *columns* wide; *react* sees
    what reached the terminal so far, each time more does.

    Returns the exit status, what reached the terminal, and stdout when it
    was a pipe.
    """
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "redislog", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_terminal else subprocess.PIPE,
        stderr=slave,
        env=cli_env(**{"COLUMNS": str(columns), "TERM": "xterm", **env}),
    )
    os.close(slave)
    shown = bytearray()
    piped: list[bytes] = []
    if process.stdout is not None:
        out = process.stdout
        threading.Thread(target=lambda: piped.append(out.read()), daemon=True).start()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every end of the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
        if react is not None:
            react(shown.decode("utf-8", "replace"))
    os.close(master)
    code = process.wait(timeout)
    if process.stdout is not None:
        wait_for(lambda: bool(piped), 10)
        process.stdout.close()
    return code, shown.decode("utf-8", "replace"), b"".join(piped).decode("utf-8", "replace")
