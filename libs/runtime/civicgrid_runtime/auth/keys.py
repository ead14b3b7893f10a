"""Signing keys. Development: an Ed25519 pair generated locally under ``keys_dir`` on first use.

Production: only the public key (or an OIDC provider's key) is mounted; services never sign.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PRIVATE_NAME = "jwt-ed25519.pem"
PUBLIC_NAME = "jwt-ed25519.pub.pem"


def ensure_dev_keys(keys_dir: Path) -> tuple[Path, Path]:
    """Create a key pair if none exists; returns (private, public) paths."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    private_path, public_path = keys_dir / PRIVATE_NAME, keys_dir / PUBLIC_NAME
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        tmp = private_path.with_suffix(".tmp")
        tmp.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        os.chmod(tmp, 0o600)
        tmp.replace(private_path)
        public_path.unlink(missing_ok=True)
    if not public_path.exists():
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{private_path} is not an Ed25519 key")
        public_path.write_bytes(
            loaded.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private_path, public_path


def read_public_key(keys_dir: Path, create_if_missing: bool) -> bytes:
    if create_if_missing:
        ensure_dev_keys(keys_dir)
    path = keys_dir / PUBLIC_NAME
    if not path.exists():
        raise FileNotFoundError(f"no public key at {path}; set the keys_dir setting")
    return path.read_bytes()
