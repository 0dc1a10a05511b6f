"""Certificates the endpoint presents to the DUT, and TLS settings from the bench.

SEC-003 needs two server certificates for the same address: one signed by
the CA the DUT is configured with (so it connects), and one that is not (so
it must refuse). `Authority.create` makes a CA with `cryptography`; with it
certkit issues both for an emulated DUT, and for a real one when the bench
lends the CA's key. Keys are ECDSA P-256: quick to make, accepted everywhere.

Bench settings come from environment variables, never from reports:

- CERTKIT_MQTT_SERVER_CERT, CERTKIT_MQTT_SERVER_KEY: the certificate (chain)
  and key the endpoint presents to a real DUT, issued by the CA it trusts;
- CERTKIT_MQTT_CA: the CA file that verifies an external `mqtts://` broker;
- CERTKIT_MQTT_CLIENT_CERT, CERTKIT_MQTT_CLIENT_KEY: a client certificate
  for an external broker;
- CERTKIT_MQTT_USERNAME, CERTKIT_MQTT_PASSWORD: the controller's credentials
  for an external broker.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certkit"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(folder: Path, stem: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return KeyPair(cert_path, key_path)


@dataclass(frozen=True)
class Authority:
    """A certificate authority that can issue server certificates."""

    name: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    files: KeyPair

    @classmethod
    def create(cls, folder: Path, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(_name(name)).issuer_name(_name(name))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(name, cert, key, _write(folder, _slug(name), cert, key))

    @classmethod
    def load(cls, cert_file: Path, key_file: Path) -> Authority:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            # A key file of another kind is bad input, not a wrong argument type (TRY004).
            raise ValueError(f"{key_file}: certkit issues with EC keys only")  # noqa: TRY004
        name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return cls(str(name), cert, key, KeyPair(cert_file, key_file))

    def issue_server(self, folder: Path, stem: str, hosts: list[str]) -> KeyPair:
        """A server certificate for `hosts` (names or IP addresses), chained to this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = []
        for host in dict.fromkeys(hosts):
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        cert = (x509.CertificateBuilder()
                .subject_name(_name(hosts[0])).issuer_name(self.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + VALIDITY)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        pair = _write(folder, stem, cert, key)
        # Serve the chain, so a DUT that trusts the CA needs nothing else.
        pair.cert.write_bytes(pair.cert.read_bytes()
                              + self.cert.public_bytes(serialization.Encoding.PEM))
        return pair


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def server_hosts(listen_host: str) -> list[str]:
    """The names a DUT may use to reach the endpoint."""
    hosts = [listen_host] if listen_host not in ("0.0.0.0", "::", "") else []
    return hosts + ["127.0.0.1", "localhost", "::1"]


@dataclass(frozen=True)
class Offer:
    """What the endpoint presents to DUTs: the trusted pair, and one the DUT must refuse."""

    trusted: KeyPair
    untrusted: KeyPair
    dut_ca: Path | None  # the CA an emulated DUT is configured with


def make_offer(folder: Path, listen_host: str, env: Mapping[str, str] | None = None) -> Offer:
    """Certificates for a TLS endpoint.

    With CERTKIT_MQTT_SERVER_CERT and _KEY set, those are presented as the
    trusted pair (a real DUT's CA signed them); otherwise certkit makes a CA
    for the emulated DUT and issues from it. The untrusted pair always comes
    from a fresh CA nobody trusts, for the same host names, so the only thing
    wrong with it is its signer.
    """
    env = os.environ if env is None else env
    hosts = server_hosts(listen_host)
    rogue = Authority.create(folder / "rogue", "certkit untrusted CA")
    untrusted = rogue.issue_server(folder / "rogue", "server", hosts)
    cert, key = env.get("CERTKIT_MQTT_SERVER_CERT"), env.get("CERTKIT_MQTT_SERVER_KEY")
    if cert and key:
        return Offer(KeyPair(Path(cert), Path(key)), untrusted, None)
    authority = Authority.create(folder / "dut-ca", "certkit DUT CA")
    return Offer(authority.issue_server(folder / "dut-ca", "server", hosts), untrusted,
                 authority.files.cert)


def upstream_context(env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """How certkit verifies an external `mqtts://` broker (system CAs unless CERTKIT_MQTT_CA)."""
    env = os.environ if env is None else env
    context = ssl.create_default_context(cafile=env.get("CERTKIT_MQTT_CA") or None)
    cert, key = env.get("CERTKIT_MQTT_CLIENT_CERT"), env.get("CERTKIT_MQTT_CLIENT_KEY")
    if cert:
        context.load_cert_chain(cert, key or None)
    return context
