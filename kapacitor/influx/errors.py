"""The error of the InfluxDB package, a branch of the project's one tree (kapacitor/errors.py)."""

from __future__ import annotations

from kapacitor.errors import KapacitorError

__all__ = ["InfluxError"]


class InfluxError(KapacitorError):
    """InfluxDB could not be reached, refused us, rejected the query, returned nothing, or
    returned values that do not fit its own schema."""
