"""Binding and running the application under uvicorn."""

from __future__ import annotations

import ipaddress
import socket

import uvicorn

from redislog.web.app import Settings, create_app


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
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
