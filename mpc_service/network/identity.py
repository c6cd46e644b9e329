"""TLS identity from the node's ed25519 key: a self-signed X.509 certificate and TLS 1.3 contexts.

Why not plain mTLS with CERT_REQUIRED: Python's `ssl` has no verification callback, and OpenSSL rejects a
self-signed client certificate that is not in the trust store, while the contract only publishes each
participant's public key (not a certificate). So: TLS 1.3 authenticates the *server* (the client pins the
server certificate's ed25519 key to the participant it dialled, after the handshake), and the *client*
authenticates inside the encrypted channel by signing (server key ‖ client key ‖ fresh server nonce) with its
ed25519 key (see `frames.auth_message`). Both directions are thus bound to keys registered in the contract.
"""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from mpc_service.keys import Ed25519KeyPair
from mpc_service.network.frames import FrameError


def self_signed_certificate(key: Ed25519KeyPair) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `key`; the subject CN is the hex public key."""
    private = Ed25519PrivateKey.from_private_bytes(key.seed.expose())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, key.public_key.hex())])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, None)
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _load_chain(context: ssl.SSLContext, key: Ed25519KeyPair) -> None:
    cert_pem, key_pem = self_signed_certificate(key)
    # ssl only loads certificates from files: write a private temp file and remove it at once.
    fd, path = tempfile.mkstemp(prefix="mpc-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem + cert_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)


def server_context(key: Ed25519KeyPair) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    _load_chain(context, key)
    return context


def client_context() -> ssl.SSLContext:
    """Chain validation is off on purpose: the server's key is pinned per connection by `peer_public_key`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def peer_public_key(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes:
    """Raw ed25519 key of the certificate the TLS peer presented (and proved possession of in the handshake)."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise FrameError("peer presented no certificate")
    public = x509.load_der_x509_certificate(der).public_key()
    if not isinstance(public, Ed25519PublicKey):
        raise FrameError("peer certificate key is not ed25519")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
