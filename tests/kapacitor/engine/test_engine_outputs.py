"""Outputs: what each output statement writes of a batch, as points (instance tags, the
options' measurement, field and tags), collected by the host."""

from __future__ import annotations

from kapacitor.clock import ManualClock
from kapacitor.host import PluginHost
from kapacitor.lineprotocol.decode import parse_body
from kapacitor.model import PointBatch
from kapacitor.model.batch import FieldType
from kapacitor.plugins import PluginDefinition

SCRIPT = """
influxdb_out(avg(window(value, 2)), db="rollups", measurement="cpu_avg", field="avg",
             tags=["source=kapacitor"])
http_out(value > 50, "busy", field="busy")
loopback(tag("host") + "!", db="telegraf", measurement="hosts", field="name")
"""


def batch(body: str) -> PointBatch:
    [b], errors = parse_body(body.encode(), db="telegraf", rp="autogen", now_ns=0)
    assert not errors
    return b


def rows(b: PointBatch) -> list[tuple[str, tuple[tuple[str, str], ...], int, object]]:
    ((_, col),) = b.fields.items()
    return [
        (
            b.series[int(s)].measurement,
            b.series[int(s)].tags,
            int(t),
            col.values[i].item() if hasattr(col.values[i], "item") else col.values[i],
        )
        for i, (s, t) in enumerate(zip(b.series_idx, b.time, strict=True))
    ]


def test_each_output_writes_its_rows_as_points() -> None:
    d = PluginDefinition(name="p", from_="cpu", script=SCRIPT, enabled=True, group_by=["host"])
    host = PluginHost(ManualClock(), collect_outputs=True)
    host.sync([d])
    host.process(
        "p",
        batch(
            "cpu,host=a,cpu=0 value=10 1\ncpu,host=b,cpu=1 value=90 2\n"
            "cpu,host=a,cpu=1 value=30 3\n"
        ),
    )
    out = {o.op.kind: o for _, _, o in host.take_outputs()}
    assert host.take_outputs() == []
    influx = out["influxdb_out"].batch
    assert (influx.db, influx.rp) == ("rollups", "autogen")
    assert influx.fields["avg"].type is FieldType.FLOAT
    # a count window of 2 has a value once it holds two points: host a at its second point
    assert rows(influx) == [("cpu_avg", (("host", "a"), ("source", "kapacitor")), 3, 20.0)]
    busy = out["http_out"].batch
    assert busy.fields["busy"].type is FieldType.BOOL
    assert rows(busy) == [  # grouped by instance, each instance's rows in order
        ("cpu", (("host", "a"),), 1, False),
        ("cpu", (("host", "a"),), 3, False),
        ("cpu", (("host", "b"),), 2, True),
    ]
    names = out["loopback"].batch
    assert names.fields["name"].type is FieldType.STRING
    assert [r[3] for r in rows(names)] == ["a!", "a!", "b!"]
    assert {r[0] for r in rows(names)} == {"hosts"}


def test_a_replay_host_collects_nothing() -> None:
    d = PluginDefinition(name="p", from_="cpu", script=SCRIPT, enabled=True)
    host = PluginHost(ManualClock())
    host.sync([d])
    host.process("p", batch("cpu,host=a value=10 1\n"))
    assert host.take_outputs() == []


def test_a_script_of_outputs_only_is_a_plugin() -> None:
    from kapacitor.plugins.validate import validate_definition

    validate_definition(PluginDefinition(name="p", from_="cpu", script='http_out(value, "v")'))
