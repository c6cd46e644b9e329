"""An embedded NEAR-compatible chain: Wasm runtime with nearcore's host functions and gas,
accounts, transactions, receipts, yield/resume, SQLite persistence, JSON-RPC and a test harness."""
