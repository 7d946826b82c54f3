"""Where a plugin's alert events go: the alert log and its webhook (the plugin's own, else the
server's). One instance per service, shared by every plugin: a webhook is opened once per URL.

Both the interpreter (live alerts) and the replay service (`replay --send-alerts`) deliver
through it, so a replayed alert reaches exactly the handlers a live one would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from kapacitor.alerting.document import is_suppressed
from kapacitor.alerting.handlers import AlertLog, Webhook


class AlertDelivery:
    def __init__(self, alert_log: Path | None, default_webhook: str, webhook_timeout_s: float):
        self.log = AlertLog(alert_log) if alert_log is not None else None
        self.default_webhook = default_webhook
        self.webhook_timeout_s = webhook_timeout_s
        self.webhooks: dict[str, Webhook] = {}

    def webhook(self, plugin_webhook: str) -> Webhook | None:
        """The webhook of a plugin whose definition names `plugin_webhook` ("" for none)."""
        url = plugin_webhook or self.default_webhook
        if not url:
            return None
        hook = self.webhooks.get(url)
        if hook is None:
            hook = self.webhooks[url] = Webhook(url, self.webhook_timeout_s)
        return hook

    def send(self, docs: Iterable[bytes], plugin_webhook: str) -> None:
        """Queue alert event documents (JSON) for the log and the webhook; never blocks."""
        hook = self.webhook(plugin_webhook)
        for doc in docs:
            if self.log is not None:
                self.log.send(doc)
            if hook is not None and not is_suppressed(doc):
                hook.send(doc)
        if self.log is not None:
            self.log.flush()

    async def deliver(self, events: Sequence[tuple[str, bytes]], plugin_webhook: str) -> None:
        """Deliver (event id, document) pairs now: appended to the log (flushed), then POSTed
        to the webhook one after another, each retried (suppressed events are logged only);
        returns when all are done, so the caller may acknowledge them."""
        if self.log is not None:
            for _, doc in events:
                self.log.send(doc)
            self.log.flush()
        hook = self.webhook(plugin_webhook)
        if hook is not None:
            for event_id, doc in events:
                if not is_suppressed(doc):
                    await hook.post(doc, event_id)

    async def close(self) -> None:
        """Deliver what is queued (webhooks get a bounded time), then release everything."""
        for hook in self.webhooks.values():
            await hook.close()
        if self.log is not None:
            await self.log.close()
