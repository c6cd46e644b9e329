"""localnet/runtime"""
