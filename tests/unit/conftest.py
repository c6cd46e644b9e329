"""Fixtures for the client library's unit tests."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from chainsig.redacted import SecretScalar

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "near_kdf.json"


@pytest.fixture(scope="session")
def near_kdf_vectors() -> dict[str, Any]:
    """Published NEAR key-derivation vectors (near/mpc snapshot, chainsig.js tests), carried in the repo."""
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data


@pytest.fixture
def root_secret() -> SecretScalar:
    """A locally held root secret standing in for the MPC network's (never assembled) key."""
    return SecretScalar.from_int(0x1F2E3D4C5B6A79880123456789ABCDEF0F1E2D3C4B5A69788796A5B4C3D2E1F0)
