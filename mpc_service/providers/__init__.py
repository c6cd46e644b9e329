"""Signature schemes the node serves, one provider each; adding a scheme is adding a module and a line here."""

from __future__ import annotations

from mpc_service.providers.base import NotReady, SchemeProvider
from mpc_service.providers.ckd import CkdProvider
from mpc_service.providers.ecdsa import EcdsaProvider
from mpc_service.providers.eddsa import EddsaProvider

__all__ = ["PROVIDERS", "CkdProvider", "EcdsaProvider", "EddsaProvider", "NotReady", "SchemeProvider"]

PROVIDERS: tuple[type[SchemeProvider], ...] = (EcdsaProvider, EddsaProvider, CkdProvider)
