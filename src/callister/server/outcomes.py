"""What a zone's events mean for the rest of the world: the database, the player, the next tick.

The zone decides (a ship is destroyed, ore was mined, a wreck is in reach); this module makes it
so, through the economy's transactions on the writer thread, never on the tick:

- ``Destroyed``: one transaction moves the cargo into the wreck, pays insurance and bounty and
  gives the pilot a starter ship at home with a fresh id; then the pilot respawns there.
- ``Mined`` / ``LootReached``: ore created into the hold / the wreck's contents moved into it,
  then the zone learns the hold's free room.
- ``WreckExpired``: what the wreck still held is destroyed (a documented sink).
- ``FieldChanged``: the field's richness becomes a universe delta (survives restarts).
- ``Refused`` marked as evidence: written to the evidence table for moderators.

It is also the world's evidence writer: what the world's other parts find suspicious is
published on the bus (moderation/feeds.py: `Suspicion`, `RequestRefused`) and written here.

Players hear about results on their account subject (`account.<id>`), after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callister.economy import Economy, EconomyError, Receipt
from callister.moderation.feeds import EVIDENCE, REQUEST_REFUSED, RequestRefused, Suspicion
from callister.protocol.errors import ErrorCode
from callister.server.bus import Bus
from callister.server.metrics import Metrics
from callister.server.notices import Notice, Notices, account_subject
from callister.server.ports import Ids, Pilot, Roster, ZoneHandle
from callister.server.settings import Settings
from callister.server.writer import StoreWriter
from callister.sim import (
    AutopilotArrived,
    AutopilotCancelled,
    CrimeCommitted,
    CruiseChanged,
    Destroyed,
    FieldChanged,
    FuelEmpty,
    LootReached,
    Mined,
    MiningStopped,
    Refused,
    WreckExpired,
    ZoneEvent,
)
from callister.sim.rules import WRECK_TTL_TICKS
from callister.store import Evidence, Store

__all__ = ["Notice", "Outcomes", "Respawned", "account_subject", "killer_of"]

log = logging.getLogger(__name__)


BOUNTY_WINDOW_S = 3600.0
"""A bounty can be placed on a player who committed a crime within this many seconds."""


@dataclass(frozen=True, slots=True)
class Respawned:
    """Published on `ship.<old id>` when a destroyed ship's pilot gets a new ship."""

    account: int
    old_ship: int
    new_ship: int
    hull: str


def killer_of(roster: Roster, event: Destroyed) -> dict[str, Any]:
    """Who destroyed the ship, as the `destroyed` event tells it: `by` (a name: a player's, an
    NPC's, or "station defences"; null only if the killer is unknown here), `by_ship` (the
    killing ship's entity id, null for station defences) and `by_kind` ("player", "npc",
    "station")."""
    if event.by == 0:
        return {"by": "station defences", "by_ship": None, "by_kind": "station"}
    # an NPC ship's owner is -clone id (server/npcs.py); its name outlives its ship
    name = roster.display_name(event.by, event.by_owner)
    return {"by": name, "by_ship": event.by, "by_kind": "player" if event.by_owner > 0 else "npc"}


class Outcomes:
    """Zone events made so (see the module docstring); the world's evidence writer."""

    def __init__(
        self,
        roster: Roster,
        *,
        world_name: str,
        settings: Settings,
        writer: StoreWriter,
        store: Store,
        economy: Economy,
        bus: Bus,
        metrics: Metrics,
        ids: Ids,
        notices: Notices,
        keeps_wreck: Callable[[int], bool] = lambda wreck: False,
    ) -> None:
        self.roster, self.world_name, self.settings = roster, world_name, settings
        # whether an NPC's wreck holds cargo to be looted (the living universe's captains)
        self.keeps_wreck = keeps_wreck
        self.writer, self.store, self.economy = writer, store, economy
        self.bus, self.metrics, self.ids, self.notify = bus, metrics, ids, notices.notify
        self._evidence: list[Evidence] = []
        # account -> when they last committed a crime: bounties are for the flagged only.
        # In memory: a restart pardons, which errs on the side of the accused.
        self.flagged: dict[int, float] = {}
        bus.subscribe(EVIDENCE, self._on_suspicion)
        bus.subscribe(REQUEST_REFUSED, self._on_refused)

    # ----------------------------------------------------------------------- dispatch
    def handle(self, zone: ZoneHandle, events: list[ZoneEvent]) -> None:
        """Called by the world after each zone step with that step's events (on the loop)."""
        for event in events:
            if isinstance(event, Refused):
                if event.evidence:
                    self._evidence_from_refusal(event)
            elif isinstance(event, Destroyed):
                self.metrics.inc("callister_ships_destroyed_total")
                self.roster.spawn(self._destroyed(zone, event), f"destroyed {event.ship}")
            elif isinstance(event, Mined):
                self.roster.spawn(self._mined(zone, event), f"mined {event.ship}")
            elif isinstance(event, LootReached):
                self.roster.spawn(self._loot(zone, event), f"loot {event.wreck}")
            elif isinstance(event, WreckExpired):
                self.writer.submit(self.economy.events.expire_wreck, event.wreck)
            elif isinstance(event, FieldChanged):
                x, y = zone.sector
                self.writer.submit(
                    self.store.characters.put_deltas,
                    self.world_name,
                    [
                        (x, y, f"field.{event.field}.richness", int(event.richness)),
                        (x, y, f"field.{event.field}.tick", int(zone.zone.tick)),
                    ],
                )
            elif isinstance(event, CrimeCommitted):
                self.metrics.inc("callister_crimes_total")
                self.flagged[event.owner] = time.time()
                self.notify(event.owner, "event", kind="crime", victim=event.victim)
            elif isinstance(event, FuelEmpty):
                self.notify(event.owner, "event", kind="fuel_empty", ship=event.ship)
            elif isinstance(event, MiningStopped):
                self.notify(event.owner, "event", kind="mining_stopped", reason=event.reason)
            elif isinstance(event, AutopilotArrived | AutopilotCancelled | CruiseChanged):
                self._travel(zone, event)
        self.flush_evidence()

    def _travel(
        self, zone: ZoneHandle, event: AutopilotArrived | AutopilotCancelled | CruiseChanged
    ) -> None:
        """Autopilot and cruise events, to the ship's owner."""
        if isinstance(event, AutopilotCancelled):
            self.notify(
                event.owner, "event", kind="autopilot_cancelled", ship=event.ship,
                reason=event.reason,
            )  # fmt: skip
        elif isinstance(event, CruiseChanged):
            self.notify(
                event.owner, "event", kind="cruise", ship=event.ship, state=event.state,
                reason=event.reason or None,
            )  # fmt: skip
        else:
            where: dict[str, Any] = {}
            if event.kind == "ship":
                where["id"] = event.target
            elif event.kind == "link":
                x, y = zone.zone.layout.links[event.target]
                where["sector"] = [str(x), str(y)]
            elif event.kind != "point":
                where["index"] = event.target
            self.notify(
                event.owner, "event", kind="autopilot_arrived", ship=event.ship, to=event.kind,
                **where,
            )  # fmt: skip

    def is_flagged(self, account_id: int) -> bool:
        """Whether the account committed a crime within BOUNTY_WINDOW_S."""
        at = self.flagged.get(account_id)
        return at is not None and time.time() - at <= BOUNTY_WINDOW_S

    # ----------------------------------------------------------------------- evidence
    def _on_suspicion(self, seen: Suspicion) -> None:
        """Evidence published on the bus: written at once (not with a tick's events)."""
        self._evidence_row(seen.account, seen.code, seen.action, seen.detail)
        self.flush_evidence()

    def _on_refused(self, refused: RequestRefused) -> None:
        """A purchase refused for want of credits is evidence `purchase` (the refusals
        detector counts it with the zone's refusals); other refusals are not."""
        if refused.code == ErrorCode.INSUFFICIENT_FUNDS:
            detail = {"rid": refused.rid, "why": refused.message}
            self._on_suspicion(Suspicion(refused.account, str(refused.code), "purchase", detail))

    def _evidence_row(
        self, account_id: int, code: str, action: str, detail: dict[str, Any]
    ) -> None:
        """Record a refused, suspicious request (flushed after the current tick's events)."""
        self.metrics.inc("callister_evidence_total")
        self._evidence.append(
            Evidence(
                world=self.world_name,
                account_id=account_id,
                tick=self.roster.tick,
                at=time.time(),
                code=code,
                action=action,
                detail=detail,
            )
        )

    def flush_evidence(self) -> None:
        if self._evidence:
            rows, self._evidence = self._evidence, []
            self.writer.submit(self.store.moderation.add_evidence, rows)

    def _evidence_from_refusal(self, event: Refused) -> None:
        actor = event.actor if isinstance(event.actor, int) else 0
        self._evidence_row(
            actor,
            str(event.code),
            event.action,
            {"ship": event.ship, "reason": event.reason, "source": "zone"},
        )

    # ----------------------------------------------------------------------- death
    async def _destroyed(self, zone: ZoneHandle, event: Destroyed) -> None:
        pilot = self.roster.pilots.get(event.owner)
        if pilot is None or pilot.character.ship_id != event.ship:
            # not a player's ship: an NPC's. A living-universe NPC's cargo went into the wreck
            # (server/captains.py), which stays to be looted; any other wreck is let go
            if event.wreck and not self.keeps_wreck(event.wreck):
                self.writer.submit(self.economy.events.expire_wreck, event.wreck)
            return
        self.roster.ship_owner.pop(event.ship, None)
        pilot.zone_key = None
        pilot.dead = True
        killer = self.roster.pilots.get(event.by_owner) if event.by_owner > 0 else None
        self.notify(
            pilot.account_id,
            "event",
            kind="destroyed",
            ship=event.ship,
            **killer_of(self.roster, event),
        )
        wreck = event.wreck
        if not wreck:  # the zone's id pool ran dry: the cargo still gets its wreck
            wreck = await self.ids.next()
            zone.zone.add_wreck(wreck, event.x, event.y, ttl_ticks=WRECK_TTL_TICKS)
        new_ship = await self.ids.next()
        ttl_s = WRECK_TTL_TICKS / self.settings.tick_hz
        receipt = await self.writer.call(
            self.economy.events.wreck_ship,
            f"death:{event.ship}",
            pilot.account_id,
            pilot.character,
            wreck,
            new_ship,
            (zone.sector[0], zone.sector[1], float(event.x), float(event.y)),
            time.time() + ttl_s,
            event.by_owner if event.by_owner > 0 else None,
        )
        if killer is not None and receipt.detail.get("bounty"):
            self.notify(killer.account_id, "event", kind="bounty", amount=receipt.detail["bounty"])
            killer.credits = await self.writer.call(self.economy.books.credits, killer.account_id)
        assert receipt.character is not None
        pilot.character = receipt.character
        pilot.credits = receipt.credits
        pilot.cargo = dict(receipt.cargo)
        pilot.dead = False
        self.roster.ship_owner[new_ship] = pilot.account_id
        self.bus.publish(
            f"ship.{event.ship}",
            Respawned(pilot.account_id, event.ship, new_ship, receipt.character.hull),
        )
        self.notify(
            pilot.account_id,
            "event",
            kind="respawned",
            ship=new_ship,
            insurance=receipt.detail.get("insurance", 0),
        )
        await self.roster.respawn(pilot, old_ship=event.ship)

    # ----------------------------------------------------------------------- mining, loot
    async def _collect(
        self, owner: int, ship: int, work: Callable[..., Receipt], rid: str, *args: Any, **ref: str
    ) -> tuple[Pilot, Receipt] | None:
        """Commit what the owner's ship gathered (`work(rid, account, character, *args)`: a
        mining or loot report) and update their hold; None when the ship is no longer theirs
        or the economy refused (then they are told why, with `ref` if given)."""
        pilot = self.roster.pilots.get(owner)
        if pilot is None or pilot.character.ship_id != ship:
            return None
        try:
            receipt = await self.writer.call(work, rid, pilot.account_id, pilot.character, *args)
        except EconomyError as exc:
            self.notify(pilot.account_id, "error", code=str(exc.code), message=exc.message, **ref)
            return None
        self.roster.set_cargo(pilot, receipt.cargo)
        return pilot, receipt

    async def _mined(self, zone: ZoneHandle, event: Mined) -> None:
        rid = f"mine:{event.ship}:{zone.key}:{self.roster.tick}"
        done = await self._collect(
            event.owner, event.ship, self.economy.events.mine, rid, event.ore, event.qty
        )
        if done is None:
            return
        pilot, receipt = done
        self.notify(
            pilot.account_id,
            "event",
            kind="mined",
            ore=event.ore,
            qty=int(receipt.detail.get("qty", event.qty)),
        )

    async def _loot(self, zone: ZoneHandle, event: LootReached) -> None:
        rid = f"loot:{event.ship}:{event.wreck}:{self.roster.tick}"
        done = await self._collect(
            event.owner, event.ship, self.economy.events.loot, rid, event.wreck, ref="loot"
        )
        if done is None:
            return
        pilot, receipt = done
        pilot.credits = receipt.credits
        if receipt.detail.get("empty") and zone.zone.entity_kind(event.wreck) is not None:
            zone.zone.remove_entity(event.wreck)
        self.notify(
            pilot.account_id,
            "event",
            kind="looted",
            wreck=event.wreck,
            items=receipt.detail.get("items", {}),
        )
