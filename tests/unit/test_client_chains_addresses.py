"""Every registered chain's address of derived keys, cross-checked with bip-utils (an independent implementation of
each chain's address encoding), plus `chainsig derive --chain` for each name and the registry's errors."""

from __future__ import annotations

import json
import os

import bip_utils
import coincurve
import pytest
from nacl.signing import SigningKey

from chainsig.addresses import address_for
from chainsig.chains import Curve, chain_names, get_chain
from chainsig.chains.cosmos import CosmosChain
from chainsig.cli import main
from chainsig.errors import AddressError
from chainsig.kdf import derive_public_key
from chainsig.keys import Ed25519PublicKey, Secp256k1PublicKey

ROOT = "secp256k1:4NfTiv3UsGahebgTaHyD9vF8KYKMBnfd6kh94mK6xv8fGBiJB8TBtFMP5WWXz6B89Ac1fbpzPwAvoyQebemHFwx3"
ED_ROOT = "ed25519:6vSEtQxrQj6txUMh33WC4ERyCWmNMRTdufDWAaDY3Un2"
DERIVE = ["derive", "--account", "derivation-test.testnet", "--path", "unit-test"]
ALL = {"ethereum", "bitcoin", "bitcoin-testnet", "bitcoin-regtest", "dogecoin", "xrp", "solana", "cosmos", "aptos",
       "sui"}


def _secp_keys() -> list[Secp256k1PublicKey]:
    keys = [derive_public_key(ROOT, "derivation-test.testnet", f"path-{i}") for i in range(3)]
    keys += [Secp256k1PublicKey.from_sec1(coincurve.PrivateKey(os.urandom(32)).public_key.format()) for _ in range(5)]
    return [k for k in keys if isinstance(k, Secp256k1PublicKey)]


def _ed_keys() -> list[Ed25519PublicKey]:
    keys = [derive_public_key(ED_ROOT, "derivation-test.testnet", f"path-{i}") for i in range(3)]
    keys += [Ed25519PublicKey(bytes(SigningKey.generate().verify_key)) for _ in range(5)]
    return [k for k in keys if isinstance(k, Ed25519PublicKey)]


def _bip_utils(chain: str, key: Secp256k1PublicKey | Ed25519PublicKey) -> str:
    b = bip_utils
    if isinstance(key, Secp256k1PublicKey):
        pub = key.compressed
        if chain == "ethereum":
            return str(b.EthAddrEncoder.EncodeKey(pub))
        if chain.startswith("bitcoin"):
            hrp = {"bitcoin": "bc", "bitcoin-testnet": "tb", "bitcoin-regtest": "bcrt"}[chain]
            return str(b.P2WPKHAddrEncoder.EncodeKey(pub, hrp=hrp, wit_ver=0))
        if chain == "dogecoin":
            return str(b.P2PKHAddrEncoder.EncodeKey(
                pub, net_ver=b.CoinsConf.DogecoinMainNet.ParamByKey("p2pkh_net_ver")))
        if chain == "xrp":
            return str(b.XrpAddrEncoder.EncodeKey(pub))
        if chain == "cosmos":
            return str(b.AtomAddrEncoder.EncodeKey(pub, hrp="cosmos"))
    else:
        pub = b"\x00" + key.data  # bip-utils takes ed25519 keys with their 0x00 prefix
        if chain == "solana":
            return str(b.SolAddrEncoder.EncodeKey(pub))
        if chain == "aptos":
            return str(b.AptosAddrEncoder.EncodeKey(pub))
        if chain == "sui":
            return str(b.SuiAddrEncoder.EncodeKey(pub))
    raise AssertionError(chain)


def test_registry_has_every_chain_of_the_guide() -> None:
    assert set(chain_names()) == ALL
    assert get_chain("solana").curve is Curve.ED25519 and get_chain("xrp").curve is Curve.SECP256K1
    assert Curve.ED25519.domain_id == 1 and Curve.SECP256K1.domain_id == 0


@pytest.mark.parametrize("chain", sorted(ALL))
def test_addresses_match_bip_utils(chain: str) -> None:
    adapter = get_chain(chain)
    keys = _secp_keys() if adapter.curve is Curve.SECP256K1 else _ed_keys()
    for key in keys:
        ours = adapter.address(key)
        theirs = _bip_utils(chain, key)
        if chain == "aptos":  # bip-utils strips leading zero nibbles (the short form); the CLI prints all 64
            assert int(ours, 16) == int(theirs, 16) and len(ours) == 66
        else:
            assert ours == theirs
        assert address_for(chain, key) == ours


def test_cosmos_prefix_is_configurable() -> None:
    key = _secp_keys()[0]
    osmo = CosmosChain(name="osmosis", prefix="osmo", denom="uosmo", unit="OSMO")
    assert osmo.address(key) == bip_utils.AtomAddrEncoder.EncodeKey(key.compressed, hrp="osmo")
    with pytest.raises(AddressError, match="prefix"):
        CosmosChain(prefix="Bad").address(key)


@pytest.mark.parametrize("chain", sorted(ALL))
def test_wrong_curve_is_a_clear_error(chain: str) -> None:
    adapter = get_chain(chain)
    other = _ed_keys()[0] if adapter.curve is Curve.SECP256K1 else _secp_keys()[0]
    with pytest.raises(AddressError, match=f"{adapter.curve.value} key"):
        adapter.address(other)


def test_unknown_chain_lists_the_known_ones() -> None:
    with pytest.raises(AddressError, match="unknown chain 'litecoin'; known: aptos, bitcoin"):
        get_chain("litecoin")


@pytest.mark.parametrize("chain", sorted(ALL))
def test_cli_derive_every_chain(chain: str, capsys: pytest.CaptureFixture[str]) -> None:
    adapter = get_chain(chain)
    root = ROOT if adapter.curve is Curve.SECP256K1 else ED_ROOT
    assert main([*DERIVE, "--root", root, "--chain", chain, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    key = derive_public_key(root, "derivation-test.testnet", "unit-test")
    assert printed == {"chain": chain, "address": _bip_utils(chain, key) if chain != "aptos" else printed["address"],
                       "public_key": str(key)}
    if chain == "aptos":
        assert int(printed["address"], 16) == int(_bip_utils(chain, key), 16)


def test_cli_derive_cosmos_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*DERIVE, "--root", ROOT, "--chain", "cosmos", "--prefix", "osmo"]) == 0
    key = derive_public_key(ROOT, "derivation-test.testnet", "unit-test")
    assert isinstance(key, Secp256k1PublicKey)
    assert capsys.readouterr().out.splitlines()[0] == "address: " + bip_utils.AtomAddrEncoder.EncodeKey(
        key.compressed, hrp="osmo")
    assert main([*DERIVE, "--root", ROOT, "--chain", "ethereum", "--prefix", "osmo"]) == 1
    assert "--prefix applies to cosmos" in capsys.readouterr().err
