"""Base OT, OT extension and MtA (``mpc_service.protocol.ot``): correctness and what tampering does."""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from mpc_service.protocol import SECP256K1, ParticipantId, SessionId
from mpc_service.protocol.errors import MalformedMessageError
from mpc_service.protocol.ot import (
    ENCODED_BITS,
    KAPPA,
    BaseOtSender,
    OtPair,
    base_ot_receive,
    decode_columns,
    decode_corrections,
    encode_columns,
    encode_corrections,
    extension_receive,
    extension_send,
    gadget,
    mta_encode,
    mta_receiver_finish,
    mta_sender,
    transpose,
)

N = SECP256K1.order
PAIR = OtPair(SessionId(b"test-ot"), ParticipantId(3), ParticipantId(7))
Edit = Callable[[list[int]], list[int]]


def _run_mta(
    a: list[int], b: list[int], rng: random.Random, *, edit_columns: Edit | None = None,
    edit_corrections: Edit | None = None, pair: OtPair = PAIR, delta: int | None = None,
) -> tuple[list[int], list[int]]:
    """Both sides of one batched MtA, messages passed through their wire encodings (and the optional edits)."""
    nbits = ENCODED_BITS * len(a)
    base_sender = BaseOtSender(pair, rng)  # the MtA receiver
    delta = rng.getrandbits(KAPPA) if delta is None else delta
    answers, keys = base_ot_receive(pair, delta, base_sender.first_message, rng)
    choices = mta_encode(b, rng)
    columns, rows = extension_receive(pair, base_sender.keys(answers), choices, nbits)
    if edit_columns:
        columns = edit_columns(columns)
    received = decode_columns(encode_columns(columns, nbits), nbits, pair.receiver)
    rows0, rows1 = extension_send(pair, delta, keys, received, nbits)
    alphas, corrections = mta_sender(pair, a, rows0, rows1)
    if edit_corrections:
        corrections = edit_corrections(corrections)
    got = decode_corrections(encode_corrections(corrections), len(corrections), pair.sender)
    betas = mta_receiver_finish(pair, choices, rows, got)
    return alphas, betas


def test_transpose_matches_the_bitwise_definition() -> None:
    rng = random.Random(1)
    nbits = 2 * KAPPA
    columns = [rng.getrandbits(nbits) for _ in range(KAPPA)]
    rows = transpose(columns, nbits)
    assert len(rows) == nbits
    for j, row in enumerate(rows):
        value = int.from_bytes(row, "little")
        assert all((value >> k) & 1 == (columns[k] >> j) & 1 for k in range(KAPPA))
    with pytest.raises(ValueError):
        transpose(columns, nbits + 8)


def test_base_ot_receiver_gets_exactly_its_chosen_keys() -> None:
    rng = random.Random(2)
    sender = BaseOtSender(PAIR, rng)
    choices = rng.getrandbits(KAPPA)
    answers, keys = base_ot_receive(PAIR, choices, sender.first_message, rng)
    pairs = sender.keys(answers)
    for k, ((k0, k1), mine) in enumerate(zip(pairs, keys)):
        bit = (choices >> k) & 1
        assert mine == (k1 if bit else k0)
        assert mine != (k0 if bit else k1)
    assert "redacted" in repr(sender)
    other = OtPair(PAIR.sid, PAIR.sender, ParticipantId(8))
    assert BaseOtSender(other, random.Random(2)).keys(answers)[0] != pairs[0], "keys are bound to the pair"


def test_mta_is_correct_over_many_inputs() -> None:
    rng = random.Random(3)
    a = [0, 1, N - 1, 2**255, *(SECP256K1.random_scalar(rng) for _ in range(28))]
    b = [N - 1, 0, 1, *(SECP256K1.random_scalar(rng) for _ in range(29))]
    alphas, betas = _run_mta(a, b, rng)
    assert [(x + y) % N for x, y in zip(alphas, betas)] == [u * v % N for u, v in zip(a, b)]
    assert len(set(alphas)) == len(alphas), "the sender's shares are masked, not a function of a alone"


def test_encoding_is_randomized_and_decodes_to_the_input() -> None:
    rng = random.Random(4)
    g = gadget()
    b = SECP256K1.random_scalar(rng)
    encodings = [mta_encode([b], rng) for _ in range(2)]
    for enc in encodings:
        assert sum(g[k] for k in range(ENCODED_BITS) if (enc >> k) & 1) % N == b
    assert encodings[0] != encodings[1]


def test_tampered_correction_breaks_the_product() -> None:
    rng = random.Random(5)
    a = [SECP256K1.random_scalar(rng) for _ in range(3)]
    b = [SECP256K1.random_scalar(rng) for _ in range(3)]

    def bump(c: list[int]) -> list[int]:  # every correction of value 1: hit whichever bits are set
        return c[:ENCODED_BITS] + [(x + 1) % N for x in c[ENCODED_BITS : 2 * ENCODED_BITS]] + c[2 * ENCODED_BITS :]

    alphas, betas = _run_mta(a, b, rng, edit_corrections=bump)
    ok = [(x + y) % N == u * v % N for x, y, u, v in zip(alphas, betas, a, b)]
    assert ok == [True, False, True]


@pytest.mark.parametrize("delta_bit", [0, 1])
def test_tampered_extension_column(delta_bit: int) -> None:
    """Flipping bit j of column 0 changes the sender's row j exactly when Δ_0 = 1: the product of that row's value is
    then wrong (caught downstream); with Δ_0 = 0 nothing changes — the one-bit selective-failure probe of Δ."""
    rng = random.Random(6)
    a = [SECP256K1.random_scalar(rng) for _ in range(2)]
    b = [SECP256K1.random_scalar(rng) for _ in range(2)]
    delta = (rng.getrandbits(KAPPA) & ~1) | delta_bit

    def flip(cols: list[int]) -> list[int]:
        return [c ^ (1 << (ENCODED_BITS + 5)) if k == 0 else c for k, c in enumerate(cols)]

    alphas, betas = _run_mta(a, b, rng, edit_columns=flip, delta=delta)
    ok = [(x + y) % N == u * v % N for x, y, u, v in zip(alphas, betas, a, b)]
    assert ok == [True, not delta_bit]


def test_wire_decoders_refuse_bad_lengths_and_ranges() -> None:
    culprit = ParticipantId(4)
    with pytest.raises(MalformedMessageError) as err:
        decode_corrections(b"\x00" * 63, 2, culprit)
    assert err.value.culprit == culprit
    with pytest.raises(MalformedMessageError):
        decode_corrections(N.to_bytes(32, "big"), 1, culprit)
    with pytest.raises(MalformedMessageError):
        decode_columns(b"\x00" * (KAPPA * 48 - 1), ENCODED_BITS, culprit)
