"""The webhooks that are not written as handlers: a plugin's (`define --webhook URL`) and the
server's (`[alert] webhook-url`). Each is a `post` handler of every topic (subjects.EVERY_TOPIC:
all the plugin's events, or everyone's), so it is delivered as any topic handler is: its own
durable consumer, queue, retries and counters, and a slow webhook holds up nothing else.

A plugin's is owned by the plugin (defined, changed and deleted with it); the server's is
kept by the member delivering alerts, from its config.
"""

from __future__ import annotations

from kapacitor.alerting.topic_handlers import TopicHandler
from kapacitor.bus.subjects import EVERY_TOPIC

KIND = "post"
SERVER_WEBHOOK = "webhook"  # the id of the server's


def plugin_webhook(plugin: str, url: str, timeout: str) -> TopicHandler:
    """The handler of plugin `plugin`'s `--webhook url`: every event of the plugin."""
    return TopicHandler(
        id=f"{plugin}:webhook",
        topic=EVERY_TOPIC,
        kind=KIND,
        options={"url": url, "timeout": timeout},
        plugin=plugin,
    )


def server_webhook(url: str, timeout: str) -> TopicHandler:
    """The handler of the server's `[alert] webhook-url`: every event of every plugin."""
    return TopicHandler(
        id=SERVER_WEBHOOK, topic=EVERY_TOPIC, kind=KIND, options={"url": url, "timeout": timeout}
    )
