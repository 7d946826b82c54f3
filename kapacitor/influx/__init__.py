"""InfluxDB 1.x: reading points back out with InfluxQL queries (for recordings)."""

from kapacitor.influx.client import (
    InfluxError,
    field_types_of,
    query_batches,
    series_to_batch,
    with_group_by_all,
)

__all__ = [
    "InfluxError",
    "field_types_of",
    "query_batches",
    "series_to_batch",
    "with_group_by_all",
]
