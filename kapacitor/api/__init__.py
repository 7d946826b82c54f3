"""The HTTP API's domain, without HTTP: request bodies, the documents it answers with, plugin
definition bookkeeping, and the table from errors to statuses. services/api wires these to
FastAPI routes."""

__all__ = ["V1"]

V1 = "/kapacitor/v1"  # the prefix of every route but InfluxDB's /write and /ping
