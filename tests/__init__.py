"""The test suite (a package, so that tests/contract imports as tests.contract and `contract` is the project's
package)."""
