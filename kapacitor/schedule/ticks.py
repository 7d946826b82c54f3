"""Running one tick of a scheduled plugin against its InfluxDB: the query over the tick's
range, the answer as batches. Shared by the interpreter's scheduler and `record --plugin`."""

from __future__ import annotations

from kapacitor.influx.cluster import InfluxCluster
from kapacitor.model.batch import PointBatch
from kapacitor.plugins import PluginDefinition
from kapacitor.schedule.query import query_db, query_for, result_batches
from kapacitor.schedule.timing import Schedule

__all__ = ["tick_batches"]


async def tick_batches(
    influx: InfluxCluster, d: PluginDefinition, schedule: Schedule, tick_ns: int
) -> list[PointBatch]:
    """What the plugin's query selects for the tick at `tick_ns` (InfluxError when InfluxDB
    cannot be asked or refuses)."""
    db = query_db(d.query, d.db)
    start, end = schedule.range_of(tick_ns)
    doc = await influx.query(query_for(d.query, start, end), db, d.rp)
    return result_batches(doc, db, d.rp)
