"""Scheduled plugins: a plugin whose data comes from an InfluxQL query run on a schedule
instead of from the stream (Kapacitor's batch tasks). Without I/O: `timing` says when the
ticks are and what range each queries, `query` checks the query and adds the range to it and
turns the answer into batches. The interpreter's scheduler (services/interpreter/scheduler.py)
runs them."""

from kapacitor.schedule.query import check_query, query_db, query_for, result_batches
from kapacitor.schedule.timing import Schedule, schedule_of

__all__ = [
    "Schedule",
    "check_query",
    "query_db",
    "query_for",
    "result_batches",
    "schedule_of",
]
