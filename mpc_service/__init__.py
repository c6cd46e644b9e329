"""The MPC node: indexer, request queue, threshold protocols, asset store, p2p network, responder."""
