"""Orders from the captain (the client's order buttons, or words in the ship's chat).

An order makes one action much more attractive for a while (`decide.ORDER_BONUS` times the
clone's obedience, which grows with conscientiousness and trust in the captain); it never
makes an impossible action possible (no docking without a station), and an order to attack
someone marks them hostile so the sensors treat them as a threat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from callister.agents.decide import Action

ORDER_TICKS: Final = 600  # an order holds for 30 s unless replaced or cancelled


@dataclass(frozen=True, slots=True)
class Order:
    """`action` until tick `until`; `target` an actor id (whom to attack) or None."""

    action: Action
    until: int
    target: int | None = None
    text: str = ""


_PATTERNS: Final = (
    (re.compile(r"\b(hold|cease|stop) fire\b|\bstand down\b"), Action.IDLE),
    (re.compile(r"\bundock\b|\blaunch\b"), Action.UNDOCK),
    (re.compile(r"\bdock\b"), Action.DOCK),
    (re.compile(r"\b(flee|run|retreat|escape|get us out|break off)\b"), Action.FLEE),
    (re.compile(r"\b(attack|engage|fire|shoot|kill)\b"), Action.DEFEND),
    (re.compile(r"\bshields?\b|\bpower to\b"), Action.SHIELDS),
    (re.compile(r"\bmine|mining\b"), Action.MINE),
    (re.compile(r"\bloot|salvage\b"), Action.LOOT),
    (re.compile(r"\bpatrol\b"), Action.PATROL),
    (re.compile(r"\b(hold|stop|wait|halt)\b"), Action.HOLD),
)
_TARGET: Final = re.compile(r"#(\d{1,19})")
_LEAD: Final = re.compile(r"^(please|now|ok|okay|all|crew|captain's orders)[,:]?\s+|^[a-z]+[,:]\s+")


def parse_order(text: str, tick: int) -> Order | None:
    """An order in a chat line ("dock at the station", "attack #42", "hold fire", "Ada, get us
    out of here"), or None. An order is short and starts with its verb (after "please" or a
    name); questions are never orders."""
    low = text.lower().strip()
    if not low or low.endswith("?") or len(low.split()) > 12:
        return None
    for _ in range(2):  # "please, ...", "Ada, ...", "all power to shields"
        low = _LEAD.sub("", low, count=1)
    head = " ".join(low.split()[:3])  # an order starts with its verb
    for pattern, action in _PATTERNS:
        if pattern.search(head):
            m = _TARGET.search(low)
            target = int(m.group(1)) if m and action is Action.DEFEND else None
            return Order(action=action, until=tick + ORDER_TICKS, target=target, text=text.strip())
    return None


def for_role(order: Order, allowed: frozenset[Action]) -> Order | None:
    """The order as it applies to a crew member whose kind allows `allowed` (a gunner told to
    "attack" fires; an engineer ignores "dock")."""
    action = order.action
    if action is Action.DEFEND and Action.DEFEND not in allowed and Action.FIRE in allowed:
        action = Action.FIRE
    if action not in allowed:
        return None
    return Order(action=action, until=order.until, target=order.target, text=order.text)
