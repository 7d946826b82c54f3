"""Recording points (from InfluxDB or the live stream) and replaying them to one plugin."""
