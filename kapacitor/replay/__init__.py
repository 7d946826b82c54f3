"""Recording points (from InfluxDB or the live stream) and replaying them to one plugin."""

__all__: list[str] = []  # a namespace: import from its modules
