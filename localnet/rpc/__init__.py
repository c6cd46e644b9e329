"""localnet/rpc"""
