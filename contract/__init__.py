"""near-sdk-py contracts and their build step (`python -m contract.build`)."""
