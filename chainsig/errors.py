"""The client's exception tree. Every error the client raises is a `ClientError`.

ClientError                            catch this one
├── KeyFormatError (ValueError)        a key string/bytes could not be parsed
├── DerivationError (ValueError)       a tweak is out of range or a point is invalid
├── AddressError (ValueError)          unknown chain/network or key type for an address
├── TransactionError (ValueError)      a foreign-chain transaction cannot be built/signed/verified
├── ChainRpcError                      a foreign chain's RPC refused a call or could not be reached
├── CredentialsError (ValueError)      a NEAR credentials file / env var is missing or malformed
├── SignatureFormatError (ValueError)  the contract's response is not a signature we understand
├── CkdError (ValueError)              a CKD response, app key, key file or ciphertext is unusable
│   ├── CkdVerificationError           the response does not decrypt to the app's secret under the domain's key
│   └── DecryptionError                AES-256-GCM: wrong key or aad, or the ciphertext was altered
└── SignatureRequestError              the `sign` / `request_app_private_key` call did not produce its result
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


class CkdError(ClientError, ValueError):
    """Confidential key derivation: a response, app key, key file or ciphertext is malformed or unusable."""


class CkdVerificationError(CkdError):
    """The CKD response does not decrypt to a BLS signature on the app id under the domain's master key: a node, the
    coordinator or the chain returned a wrong answer, or it was meant for another one-time key, app or domain."""


class DecryptionError(CkdError):
    """AES-256-GCM authentication failed: wrong key, wrong associated data, or an altered ciphertext."""


class SignatureRequestError(ClientError):
    """A call to the signer contract (`sign`, `request_app_private_key`) did not produce its result."""


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
