"""InfluxDB 1.x: reading points back out with InfluxQL queries (for recordings).

`influxql` rewrites query text, `series` converts JSON answers to batches (both without I/O),
`client` does the HTTP.
"""

from kapacitor.influx.client import query_batches
from kapacitor.influx.errors import InfluxError
from kapacitor.influx.influxql import database_of, with_group_by_all
from kapacitor.influx.series import field_types_of, series_to_batch

__all__ = [
    "InfluxError",
    "database_of",
    "field_types_of",
    "query_batches",
    "series_to_batch",
    "with_group_by_all",
]
