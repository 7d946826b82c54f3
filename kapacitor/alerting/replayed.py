"""A replay's alert events sent on (`replay --send-alerts`): through the handlers the plugin
attaches (its script's notify= and its --webhook) and the server's webhook, each event its
handler's match selects and nothing suppressed, with the handler's retries; the handlers side
by side. A replay is a test run: it reaches no handler another plugin or a user defined on a
shared topic, and no `aggregate` handler (that sums up the live stream over intervals).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kapacitor.alerting.dispatch import deliver, wanted
from kapacitor.alerting.event_match import EventMatch
from kapacitor.alerting.kinds.base import Event
from kapacitor.alerting.topic_handlers import HandlerStats, TopicHandler
from kapacitor.config import Config


async def send_replayed(
    specs: Sequence[TopicHandler], events: Sequence[Event], cfg: Config
) -> list[HandlerStats]:
    """Send `events` through each handler of `specs`; what each did."""
    # late: the kinds are imported only where handlers run (see registry's docstring)
    from kapacitor.alerting.kinds.registry import KINDS

    async def one(spec: TopicHandler) -> HandlerStats:
        stats = HandlerStats(topic=spec.topic, id=spec.id)
        options = spec.parsed_options()
        sender = KINDS[spec.kind].sender(options, cfg)
        backoff = cfg.alert.handler_backoff.seconds
        try:
            for event in wanted(events, EventMatch(spec.match), stats):
                await deliver(sender, event, stats, retries=options.retries, backoff=backoff)
        finally:
            await sender.close()
        return stats

    return list(await asyncio.gather(*(one(s) for s in specs if s.kind != "aggregate")))
