"""Kapacitor: stream processing, monitoring and alerting on time-series data over NATS."""

__version__ = "0.1.0"

__all__ = ["__version__"]
