"""localnet/chain"""
