"""`kapacitord`: the supervisor of the embedded NATS server and the service processes, and the
lifecycle shared by every service process."""

__all__: list[str] = []  # a namespace: import from its modules
