"""Chain access: JSON-RPC client, indexer (chain → SignRequest) and responder (signature → respond tx)."""
