"""Public helpers for testing against real parts: a nats-server, a kapacitord, receivers."""

__all__: list[str] = []  # a namespace: import from its modules
