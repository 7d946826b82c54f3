"""Public helpers for testing against real parts: a nats-server, a kapacitord, receivers."""
