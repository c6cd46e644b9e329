"""The client's exception tree. Every error the client raises is a `ClientError`.

ClientError                            catch this one
├── KeyFormatError (ValueError)        a key string/bytes could not be parsed
├── DerivationError (ValueError)       a tweak is out of range or a point is invalid
├── AddressError (ValueError)          unknown chain/network or key type for an address
├── TransactionError (ValueError)      a foreign-chain transaction cannot be built/signed/verified
├── ChainRpcError                      a foreign chain's RPC refused a call or could not be reached
├── CredentialsError (ValueError)      a NEAR credentials file / env var is missing or malformed
├── SignatureFormatError (ValueError)  the contract's response is not a signature we understand
└── SignatureRequestError              the `sign` call did not produce a signature
    ├── RequestTimedOutError           the request timed out (contract or RPC)
    ├── ContractFailureError           the contract call failed (message from the chain)
    └── RpcError                       the RPC refused the transaction or could not be reached
"""

from __future__ import annotations


class ClientError(Exception):
    """Root of every error raised by `chainsig`."""


class KeyFormatError(ClientError, ValueError):
    """A public/secret key string or byte string is malformed."""


class DerivationError(ClientError, ValueError):
    """Key derivation failed (tweak out of range, invalid root point)."""


class AddressError(ClientError, ValueError):
    """An address cannot be produced for this chain/key."""


class TransactionError(ClientError, ValueError):
    """A foreign-chain transaction cannot be built, signed or verified."""


class ChainRpcError(ClientError):
    """A foreign chain's RPC (Ethereum JSON-RPC, Esplora, Bitcoin Core, Solana, rippled, Cosmos REST) failed."""


class CredentialsError(ClientError, ValueError):
    """NEAR credentials are missing or malformed."""


class SignatureFormatError(ClientError, ValueError):
    """A signature response from the signer contract is malformed."""


class SignatureRequestError(ClientError):
    """A `sign` request did not produce a signature."""


class RequestTimedOutError(SignatureRequestError):
    """The signature request timed out ("Request has timed out.") or the RPC gave up waiting."""


class ContractFailureError(SignatureRequestError):
    """The signer contract (or the caller's transaction) failed; `message` is the chain's error text."""

    def __init__(self, message: str, *, failure: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.failure = failure


class RpcError(SignatureRequestError):
    """The RPC rejected the transaction or could not be reached."""
