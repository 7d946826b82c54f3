"""`kapacitor`: the command line over the HTTP API."""

__all__: list[str] = []  # a namespace: import from its modules
