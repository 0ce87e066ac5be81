"""The tablet with the network cut: confirmations kept and sent later."""
