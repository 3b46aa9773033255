"""Messages for one player: published on their account subject, sent by fan-out.

Every part of the world that tells a player something (a death, a receipt arriving late, a crew
member speaking, an invitation aboard) publishes a `Notice` on `account.<id>`; server/fanout.py
turns it into the JSON message `{"t": msg_type, **fields}` on that player's socket. The parts get
`Notices.notify` (a `ports.Notify`), not the bus or the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callister.server.bus import Bus


def account_subject(account_id: int) -> str:
    return f"account.{account_id}"


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for one player, published on `account.<id>`: `fields` become the JSON
    message `{"t": msg_type, **fields}`."""

    msg_type: str
    fields: dict[str, Any] = field(default_factory=dict)


class Notices:
    """Publishes notices on the bus (only for players: accounts > 0; NPCs have none)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    def notify(self, account_id: int, msg_type: str, /, **fields: Any) -> None:
        if account_id > 0:
            self._bus.publish(account_subject(account_id), Notice(msg_type, fields))
