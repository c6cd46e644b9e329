"""Chain Signatures client: key derivation, foreign-chain transactions, signature requests, relay."""
