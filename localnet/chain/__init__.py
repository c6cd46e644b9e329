"""The chain of the embedded localnet: accounts, keys, transactions, receipts, blocks, persistence.

Public surface: `Chain` (implements `ChainService`), `Localnet` (in-process API for tests and scripts),
the transaction signer (`sign_transaction`, `decode_signed_transaction`) and keys (`SecretKey`, `InMemorySigner`).
"""

from localnet.chain.chain import Chain
from localnet.chain.errors import ChainError, InvalidRequest, MalformedTransaction
from localnet.chain.keys import InMemorySigner, SecretKey
from localnet.chain.localnet import Localnet, TxResult, ViewResult
from localnet.chain.transaction import SignedTransaction, Transaction, decode_signed_transaction, sign_transaction

__all__ = [
    "Chain",
    "ChainError",
    "InMemorySigner",
    "InvalidRequest",
    "Localnet",
    "MalformedTransaction",
    "SecretKey",
    "SignedTransaction",
    "Transaction",
    "TxResult",
    "ViewResult",
    "decode_signed_transaction",
    "sign_transaction",
]
