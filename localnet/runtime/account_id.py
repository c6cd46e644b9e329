"""NEAR account id validation (nearcore `near-account-id`): 2–64 chars of [a-z0-9._-], parts
separated by `.`, no leading/trailing/adjacent separators."""

from __future__ import annotations

import re

_ACCOUNT_ID = re.compile(r"^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$")
_HEX = re.compile(r"^[0-9a-f]+$")


def is_valid_account_id(account_id: str) -> bool:
    return 2 <= len(account_id) <= 64 and _ACCOUNT_ID.match(account_id) is not None


def is_near_implicit(account_id: str) -> bool:
    return len(account_id) == 64 and _HEX.match(account_id) is not None


def is_eth_implicit(account_id: str) -> bool:
    return len(account_id) == 42 and account_id.startswith("0x") and _HEX.match(account_id[2:]) is not None
