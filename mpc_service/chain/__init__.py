"""Chain access: JSON-RPC client, indexer (chain → PendingSignRequest) and responder (signature → respond tx)."""
