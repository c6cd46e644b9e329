"""Test packages (this file makes tests/contract import as tests.contract, so that `contract` is the project package)."""
