"""Fixtures for the MPC node infrastructure tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpc_service.secret import SecretBytes


@pytest.fixture
def storage_secret() -> SecretBytes:
    return SecretBytes(os.urandom(32))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "assets.sqlite"
