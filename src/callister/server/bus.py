"""The bus: the only way zones talk to the rest of the server.

Subjects are dotted strings. The in-process bus delivers synchronously, in publish order, to
handlers subscribed to the exact subject. A NATS bus (multi-machine) implements the same two
methods; messages are then encoded at its edge, so nothing here may rely on object identity
across publish. Every subject of a world's bus:

- `zone.<world>.<x>.<y>.intents` (`intents_subject`): `Intent`s from the commands and the
  agents, heard by the zone (sim/zone.py).
- `zone.<world>.<x>.<y>.tick` (`tick_subject`): a `ZoneTick` after every step, heard by the
  fan-out (server/fanout.py).
- `ship.<id>`: `ShipMoved` (a jump, leaving the world) and `Respawned` (server/world.py,
  server/outcomes.py), heard by the sessions following the ship.
- `account.<id>` (`outcomes.account_subject`): `Notice`s for one player (results of the
  economy, crew answers) and `ViewShip` (shared ships), heard by the player's session.
- `evidence`, `request.refused`, `receipt.replayed`, `distress`: what moderation and the
  evidence writer hear (moderation/feeds.py, where they are described).

A cluster's own subjects between processes are in cluster/subjects.py.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class Subscription(Protocol):
    def unsubscribe(self) -> None: ...


class Bus(Protocol):
    def publish(self, subject: str, message: Any) -> None: ...
    def subscribe(self, subject: str, handler: Handler) -> Subscription: ...


class _LocalSubscription:
    def __init__(self, bus: InProcessBus, subject: str, handler: Handler) -> None:
        self._bus, self._subject, self._handler = bus, subject, handler

    def unsubscribe(self) -> None:
        handlers = self._bus._handlers.get(self._subject)
        if handlers and self._handler in handlers:
            handlers.remove(self._handler)
            if not handlers:
                del self._bus._handlers[self._subject]


class InProcessBus:
    """Synchronous fan-out to exact-subject subscribers; a failing handler is logged, not fatal."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self.published = 0

    def publish(self, subject: str, message: Any) -> None:
        self.published += 1
        for handler in tuple(self._handlers.get(subject, ())):
            try:
                handler(message)
            except Exception:  # one bad subscriber must not stop the zone or the others
                log.exception("bus handler failed", extra={"subject": subject})

    def subscribe(self, subject: str, handler: Handler) -> Subscription:
        self._handlers[subject].append(handler)
        return _LocalSubscription(self, subject, handler)

    def subscribers(self, subject: str) -> int:
        return len(self._handlers.get(subject, ()))


def zone_key(world: str, x: int, y: int) -> str:
    return f"{world}.{x}.{y}"


def intents_subject(key: str) -> str:
    return f"zone.{key}.intents"


def tick_subject(key: str) -> str:
    return f"zone.{key}.tick"
