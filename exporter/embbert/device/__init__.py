"""Talking to a device: the wire protocol, transports, the session, status codes, QEMU."""
