"""Binding and running the application under uvicorn."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import FrameType

import uvicorn

from redislog.web.app import Settings, create_app
from redislog.web.follow import Hub


def loopback(host: str) -> bool:
    """Whether *host* is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on *host*:*port*.

    Raises:
        OSError: the address is taken or not ours.
    """
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def run(
    settings: Settings,
    sock: socket.socket,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    access_log: bool = False,
) -> None:
    """Serve on *sock* until SIGINT or SIGTERM."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        timeout_graceful_shutdown=2,
        server_header=False,
        proxy_headers=False,
    )
    server = _Server(config, app.state.service.hub)
    server.run(sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn's server, which ends the event streams when told to stop:
    they never end by themselves, and would hold its graceful shutdown until
    the timeout, then be cancelled."""

    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet
        # In a signal handler: only this call is safe on the loop.
        loop.call_soon_threadsafe(self.hub.end_streams)
