"""kind: mqtt — publish each event's message to an MQTT topic (Kapacitor's mqtt handler: the
message text, `topic` a template over the event, `qos` 0-2, `retained`) on the broker of
`[mqtt] url`. One connection per handler, opened on its first event and again after a
failure."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kapacitor.alerting.kinds.base import Event, Options, Undelivered, render
from kapacitor.alerting.kinds.http import unset
from kapacitor.config import Config, MqttConfig

if TYPE_CHECKING:
    import aiomqtt

DEFAULT_PORT = {"tcp": 1883, "ssl": 8883}


class MqttOptions(Options, frozen=True, kw_only=True, forbid_unknown_fields=True):
    topic: str  # e.g. "alerts/{plugin}/{host}"
    qos: int = 0
    retained: bool = False

    def check(self) -> None:
        super().check()
        if not self.topic:
            raise ValueError("topic must name an MQTT topic")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {self.qos}")


def broker(server: MqttConfig) -> tuple[str, int, bool]:
    """Host, port and TLS of `[mqtt] url`."""
    parts = urlsplit(server.url)
    if parts.scheme not in DEFAULT_PORT or not parts.hostname:
        raise Undelivered(
            f"mqtt: [mqtt] url must be tcp://host:port or ssl://host:port, got {server.url!r}",
            retry=False,
        )
    return parts.hostname, parts.port or DEFAULT_PORT[parts.scheme], parts.scheme == "ssl"


class MqttSender:
    def __init__(self, options: MqttOptions, cfg: Config) -> None:
        self.options = options
        self.server = cfg.mqtt
        self._client: aiomqtt.Client | None = None

    async def send(self, event: Event) -> None:
        if not self.server.url:
            raise unset("mqtt", "mqtt.url")
        host, port, tls = broker(self.server)
        topic = render(self.options.topic, event.doc)
        message = str(event.doc.get("message", ""))
        # Imported here: paho-mqtt is weight every service would carry (they are forked from
        # one image holding every module imported at start) for the few that run this kind.
        import aiomqtt

        try:
            if self._client is None:
                client = aiomqtt.Client(
                    host,
                    port,
                    identifier=self.server.client_id or None,
                    username=self.server.username or None,
                    password=self.server.password or None,
                    tls_context=ssl.create_default_context() if tls else None,
                    timeout=self.options.timeout_s,
                )
                await client.__aenter__()
                self._client = client
            await self._client.publish(
                topic,
                message,
                qos=self.options.qos,
                retain=self.options.retained,
                timeout=self.options.timeout_s,
            )
        except (aiomqtt.MqttError, OSError, TimeoutError) as e:
            await self.close()
            raise Undelivered(f"mqtt {host}:{port} {topic}: {e}", retry=True) from e

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            import aiomqtt

            try:
                await client.__aexit__(None, None, None)
            except (aiomqtt.MqttError, OSError):
                pass
