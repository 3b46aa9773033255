"""What a running world tells moderation: the events published on the world's bus for it.

Publishers never call moderation, and moderation never reaches into them: the client's
commands (server/commands.py), the gateway's flood check, boarding (server/boarding.py) publish
these events on the world's bus; the evidence writer (server/outcomes.py) and the `Moderation`
service (moderation/service.py) subscribe. A world without moderation (a private world) still
writes its evidence: the writer belongs to the world.

- `evidence`, `Suspicion`: something an honest client does not do. Published by the commands
  (a message naming another's ship: NOT_YOUR_SHIP), the gateway (FLOOD), boarding
  (CAPTURED_CLONE) and moderation itself (DUPLICATE_RID); the evidence writer makes each an
  `evidence` row, which the refusal and flood detectors read.
- `request.refused`, `RequestRefused`: an economy request refused (EconomyError), published by
  the commands; the evidence writer records INSUFFICIENT_FUNDS as evidence `purchase`.
- `receipt.replayed`, `ReceiptReplayed`: a request answered from the ledger because its rid was
  used before, published by the commands; moderation records other contents than the first
  time as evidence DUPLICATE_RID (`detect/economy.py`: `request_fields`, `replay_differs`).
- `distress`, `DistressCall`: a distress call went out, published by the commands; the
  gateway's fan-out tells every socket in the system, moderation notes it in its chat log.

Every subject on the bus is listed in server/bus.py; these are the ones below the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callister.economy import Receipt
from callister.protocol.errors import ErrorCode
from callister.protocol.messages import ClientMessage

EVIDENCE = "evidence"
REQUEST_REFUSED = "request.refused"
RECEIPT_REPLAYED = "receipt.replayed"
DISTRESS = "distress"


@dataclass(frozen=True, slots=True)
class Suspicion:
    """Something an honest client does not do (a `code` such as NOT_YOUR_SHIP or FLOOD, while
    doing `action`): written to the evidence table, with the world, tick and time added."""

    account: int
    code: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """An economy request (`rid`, None for requests without one) the economy refused."""

    account: int
    rid: str | None
    code: ErrorCode
    message: str


@dataclass(frozen=True, slots=True)
class ReceiptReplayed:
    """A request (`asked`) answered with the receipt of an earlier one with the same rid."""

    account: int
    receipt: Receipt
    asked: ClientMessage


@dataclass(frozen=True, slots=True)
class DistressCall:
    """Pilot `caller` in ship `ship` called for help at (x, y) in zone `zone`."""

    zone: str
    ship: int
    caller: str
    x: float
    y: float
