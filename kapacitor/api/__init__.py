"""The HTTP API's domain, without HTTP: request bodies, the documents it answers with, plugin
definition bookkeeping, and the table from errors to statuses. services/api wires these to
FastAPI routes."""
