"""What a plugin's definition attaches to the alerting: the topics its alert() and deadman()
statements send to and the topic handlers it owns (its script's notify= and its --webhook).
Computed from the definition alone, cached by script: no I/O here."""

from __future__ import annotations

import functools

from kapacitor.alerting.script_handlers import handlers_of
from kapacitor.alerting.topic_handlers import TopicHandler
from kapacitor.alerting.webhooks import plugin_webhook
from kapacitor.dsl.compile import compile_script
from kapacitor.engine import build_program
from kapacitor.engine.deadman import DeadmanOp
from kapacitor.engine.ops import AlertOp
from kapacitor.engine.outputs import OutputOp
from kapacitor.errors import DslError
from kapacitor.plugins.model import PluginDefinition


@functools.lru_cache(maxsize=256)
def script_handlers(plugin: str, script: str) -> tuple[TopicHandler, ...]:
    """The handlers plugin `plugin`'s script attaches with notify= (none for a script that
    does not compile: it was checked when defined)."""
    try:
        return handlers_of(plugin, compile_script(script))
    except DslError:
        return ()


def plugin_handlers(d: PluginDefinition, webhook_timeout: str) -> tuple[TopicHandler, ...]:
    """The handlers plugin `d` attaches: its script's (notify=) and its webhook."""
    handlers = script_handlers(d.name, d.script)
    if d.webhook:
        return (*handlers, plugin_webhook(d.name, d.webhook, webhook_timeout))
    return handlers


@functools.lru_cache(maxsize=256)
def script_topics(plugin: str, script: str) -> tuple[str, ...]:
    """The topics plugin `plugin`'s alert() and deadman() statements send to, in order, once
    each (none for a script that does not compile: it was checked when defined)."""
    try:
        program = build_program(compile_script(script)).for_plugin(plugin)
    except DslError:
        return ()
    found = (op.topic for op in program.ops if isinstance(op, AlertOp | DeadmanOp))
    return tuple(dict.fromkeys(t for t in found if t))


@functools.lru_cache(maxsize=256)
def _outputs(script: str) -> tuple[OutputOp, ...]:
    """A script's output statements (none for a script that does not compile)."""
    try:
        return build_program(compile_script(script)).outputs
    except DslError:
        return ()


def script_http_outs(script: str) -> tuple[str, ...]:
    """The endpoints of a script's http_out() statements, once each."""
    return tuple(dict.fromkeys(op.target for op in _outputs(script) if op.kind == "http_out"))


def script_influxdb_clusters(script: str) -> tuple[str, ...]:
    """The `[[influxdb]]` names a script's influxdb_out() statements write to ("" for the
    default one), once each."""
    return tuple(dict.fromkeys(op.cluster for op in _outputs(script) if op.kind == "influxdb_out"))
