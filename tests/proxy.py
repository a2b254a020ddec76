"""A loopback TCP proxy that can stall, cut or refuse connections on demand.

It runs an asyncio loop in a background thread and forwards 127.0.0.1:<port>
to an upstream port.  Modes switch at runtime:

- ``passing``: forward everything.
- ``stall()``: keep connections open but forward nothing (a black hole).
- ``cut()``: reset every open connection now; new ones still pass.
- ``cut_after(n)``: forward the next *n* bytes sent towards the server, then
  reset the connection (the server saw part of a request: an ambiguous write).
- ``refuse()``: close the listening socket; ``restore()`` reopens it.
- ``hold(seconds)``: forward nothing on a new connection for that long after
  it is accepted (a server slow to answer a client's first commands).

With *ssl_context* it terminates TLS: clients speak TLS to it, it speaks
plain Redis to the upstream server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Coroutine
from typing import Any

from tests.servers import free_port


class Proxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        port: int | None = None,
    ) -> None:
        self.upstream_port = upstream_port
        self.port = port or free_port()
        self._ssl = ssl_context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stalled = False
        self._budget: int | None = None
        self._hold = 0.0
        self._thread.start()
        self.restore()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def restore(self) -> None:
        """Forward everything again, reopening the listener if needed."""
        self._stalled = False
        self._budget = None
        if self._server is None:
            self._server = self._call(self._listen())

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True, ssl=self._ssl
        )

    def hold(self, seconds: float) -> None:
        self._hold = seconds

    def stall(self) -> None:
        self._stalled = True

    def cut(self) -> None:
        self._call(self._reset_all())

    def cut_after(self, nbytes: int) -> None:
        self._budget = nbytes

    def refuse(self) -> None:
        self.cut()
        server, self._server = self._server, None
        if server is not None:
            self._call(self._close(server))

    def close(self) -> None:
        self.refuse()
        self._call(self._cancel_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _cancel_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _close(self, server: asyncio.Server) -> None:
        # Only the listener: wait_closed() would also wait (from Python 3.12
        # on) for connection handlers, which the cut is still winding down.
        server.close()

    async def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._hold:
            await asyncio.sleep(self._hold)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _reset(writer)
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, towards_server=True),
                self._pipe(up_reader, writer, towards_server=False),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            # Cancelled by close(): end normally, or asyncio's stream callback
            # (which asks the task for its exception) logs the cancellation.
            pass
        for w in (writer, up_writer):
            self._writers.discard(w)
            _reset(w)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, towards_server: bool
    ) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            while self._stalled:
                await asyncio.sleep(0.01)
            if towards_server and self._budget is not None:
                allowed, self._budget = data[: self._budget], max(0, self._budget - len(data))
                writer.write(allowed)
                await writer.drain()
                if len(allowed) < len(data) or self._budget == 0:
                    self._budget = None
                    await self._reset_all()
                    return
                continue
            writer.write(data)
            await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN, like a dropped connection."""
    sock = None
    with contextlib.suppress(Exception):  # a TLS transport may be half torn down
        sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        # abort(), not close(): a TLS transport's close waits for a TLS
        # shutdown that a stopping loop would never finish.
        writer.transport.abort()
