"""Base OT, OT extension and MtA (``mpc_service.protocol.ot``): correctness and what tampering does."""
from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from mpc_service.protocol import SECP256K1, ParticipantId, SessionId, ot
from mpc_service.protocol.errors import BadProofError, MalformedMessageError
from mpc_service.protocol.ot import (
    ENCODED_BITS,
    KAPPA,
    KOS_PAD,
    BaseOtSender,
    ExtensionMessage,
    OtPair,
    base_ot_receive,
    decode_corrections,
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
EditMessage = Callable[[ExtensionMessage], ExtensionMessage]


def _run_mta(
    a: list[int], b: list[int], rng: random.Random, *, edit_message: EditMessage | None = None,
    edit_corrections: Edit | None = None, pair: OtPair = PAIR, delta: int | None = None,
    edit_seeds: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]] | None = None,
) -> tuple[list[int], list[int]]:
    """Both sides of one batched MtA, messages passed through their wire encodings (and the optional edits)."""
    nbits = ENCODED_BITS * len(a)
    base_sender = BaseOtSender(pair, rng)  # the MtA receiver
    delta = rng.getrandbits(KAPPA) if delta is None else delta
    answers, keys = base_ot_receive(pair, delta, base_sender.first_message, rng)
    choices = mta_encode(b, rng)
    seeds = base_sender.keys(answers)
    if edit_seeds:
        seeds = edit_seeds(seeds)
    message, rows = extension_receive(pair, seeds, choices, nbits, rng)
    if edit_message:
        message = edit_message(message)
    received = ExtensionMessage.decode(message.encode(nbits), nbits, pair.receiver)
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


@pytest.mark.parametrize("field", ["columns", "x", "t"])
def test_extension_message_altered_in_transit_fails_the_consistency_check(field: str) -> None:
    rng = random.Random(6)
    a, b = [SECP256K1.random_scalar(rng)], [SECP256K1.random_scalar(rng)]

    def alter(m: ExtensionMessage) -> ExtensionMessage:
        if field == "columns":
            return ExtensionMessage((m.columns[0] ^ (1 << 77), *m.columns[1:]), m.x, m.t)
        return ExtensionMessage(m.columns, m.x ^ (field == "x"), m.t ^ (field == "t"))

    with pytest.raises(BadProofError) as err:
        _run_mta(a, b, rng, edit_message=alter)
    assert err.value.culprit == PAIR.receiver


@pytest.mark.parametrize("delta_bit", [0, 1])
def test_inconsistent_receiver_is_caught_exactly_when_it_matters(delta_bit: int) -> None:
    """A receiver using another choice vector in column 0 (and an honest check over what it sent) fails KOS15's check
    when Δ_0 = 1; when Δ_0 = 0 the column is not used by the sender, so the MtA stays correct (a 1-bit probe of Δ)."""
    rng = random.Random(7)
    a, b = [SECP256K1.random_scalar(rng)], [SECP256K1.random_scalar(rng)]
    delta = (rng.getrandbits(KAPPA) & ~1) | delta_bit
    total = ENCODED_BITS + KOS_PAD
    seeds: list[tuple[bytes, bytes]] = []

    def keep_seeds(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        seeds.extend(pairs)
        return pairs

    def inconsistent(m: ExtensionMessage) -> ExtensionMessage:
        columns = (m.columns[0] ^ (1 << 9), *m.columns[1:])
        ts = [ot._prg(PAIR, k0, total) for k0, _ in seeds]
        r = columns[1] ^ ts[1] ^ ot._prg(PAIR, seeds[1][1], total)  # the choice vector of the other columns
        planes = ot._kos_planes(PAIR, columns, total)
        return ExtensionMessage(columns, ot._parities(r, planes), ot._kos_combine(ts, planes))

    if delta_bit:
        with pytest.raises(BadProofError):
            _run_mta(a, b, rng, edit_message=inconsistent, delta=delta, edit_seeds=keep_seeds)
    else:
        alphas, betas = _run_mta(a, b, rng, edit_message=inconsistent, delta=delta, edit_seeds=keep_seeds)
        assert (alphas[0] + betas[0]) % N == a[0] * b[0] % N


def test_wire_decoders_refuse_bad_lengths_and_ranges() -> None:
    culprit = ParticipantId(4)
    with pytest.raises(MalformedMessageError) as err:
        decode_corrections(b"\x00" * 63, 2, culprit)
    assert err.value.culprit == culprit
    with pytest.raises(MalformedMessageError):
        decode_corrections(N.to_bytes(32, "big"), 1, culprit)
    with pytest.raises(MalformedMessageError):
        ExtensionMessage.decode(b"\x00" * (KAPPA * (48 + KOS_PAD // 8) + 47), ENCODED_BITS, culprit)
    with pytest.raises(MalformedMessageError):  # t has at most 255 bits
        ExtensionMessage.decode(b"\x00" * (KAPPA * (48 + KOS_PAD // 8) + 47) + b"\x80", ENCODED_BITS, culprit)
    ok = ExtensionMessage.decode(b"\x00" * (KAPPA * (48 + KOS_PAD // 8) + 48), ENCODED_BITS, culprit)
    assert ok.x == ok.t == 0 and len(ok.columns) == KAPPA
