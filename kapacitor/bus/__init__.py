"""Everything that talks to NATS: subject names, stream declarations, the client and the
embedded server. Only this package imports `nats`."""

__all__: list[str] = []  # a namespace: import from its modules
