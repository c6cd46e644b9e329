"""The test suite (a package, so that tests/contract does not shadow the top-level `contract` package)."""
