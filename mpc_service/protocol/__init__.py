"""mpc_service/protocol"""
