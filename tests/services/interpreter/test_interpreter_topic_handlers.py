"""The handlers the member delivering alerts keeps itself, against a real nats-server: the
server's webhook from its config, and the webhooks of plugins defined before webhooks were
handlers."""

from __future__ import annotations

from kapacitor.alerting.webhooks import SERVER_WEBHOOK, plugin_webhook, server_webhook
from kapacitor.bus import subjects
from kapacitor.bus.client import NatsBus, kv_bucket, open_bus
from kapacitor.bus.handler_store import HandlerStore
from kapacitor.bus.plugin_store import PluginStore
from kapacitor.clock import SystemClock
from kapacitor.config import Config, load_config
from kapacitor.plugins import PluginDefinition
from services.interpreter.topic_handlers import TopicHandlers

OLD = PluginDefinition(
    name="old", from_="cpu", script="alert(value, <, 3)\n", webhook="http://127.0.0.1:9/old"
)


async def _keep(cfg: Config, bus: NatsBus) -> HandlerStore:
    js = bus.js
    store = HandlerStore(
        js,
        await kv_bucket(js, subjects.TOPIC_HANDLERS_BUCKET),
        await kv_bucket(js, subjects.HANDLER_STATS_BUCKET),
    )
    plugins = PluginStore(await kv_bucket(js, subjects.PLUGINS_BUCKET))
    await TopicHandlers(cfg, bus, store, plugins, SystemClock()).keep_webhooks()
    return store


async def test_the_server_webhook_follows_the_config_and_old_webhooks_are_adopted(
    cfg: Config,
) -> None:
    bus = await open_bus(cfg.nats_url, "test")
    try:
        await PluginStore(await kv_bucket(bus.js, subjects.PLUGINS_BUCKET)).put(OLD)
        hooked = load_config(
            env={
                "KAPACITOR_NATS_URL": cfg.nats_url,
                "KAPACITOR_DATA_DIR": str(cfg.data_dir),
                "KAPACITOR_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/all",
            }
        )
        timeout = str(cfg.alert.webhook_timeout)
        old = plugin_webhook("old", OLD.webhook, timeout)
        both = [old, server_webhook("http://127.0.0.1:9/all", timeout)]
        store = await _keep(hooked, bus)
        assert await store.list(subjects.EVERY_TOPIC) == both
        store = await _keep(cfg, bus)  # the setting gone: so is the server's webhook
        assert await store.find(subjects.EVERY_TOPIC, SERVER_WEBHOOK) is None
        assert await store.list(subjects.EVERY_TOPIC) == [old]
    finally:
        await bus.close()
