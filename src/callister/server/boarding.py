"""Boarding another ship (`board_attack`): the server side of sim/boarding.py's rule.

The attacker's captain asks; the server checks (the attacker's captain, the target in the same
system, a player's ship, PvP allowed, `sim.boarding.eligibility`: within 50 m, under 5 m/s
relative, neither docked, the target's shields at 0; one attempt per attacker and target every
BOARD_COOLDOWN_S), gathers both crews (captain, human members, clones at their skill) and the
ships' fitted weapons, and resolves the fight with the tick as the seed.

The attacker wins the cargo: ONE ledger transaction (`board:<account>:<target>:<tick>`) moves
what fits of the target's hold into the attacker's (most valuable per cargo unit first, as a
loot). The target's clones are captured: each joins the captor's crew if its station is free
aboard (else it is set ashore alive), and a captured clone whose licence is not the captor's is
written as evidence with code CAPTURED_CLONE for the moderators. A repelled attack changes
nothing but the cooldown. Everyone aboard both ships hears the result as an `event`
`boarding`. (Taking the ship itself is not implemented: see docs/crews.md.)
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol

from callister.agents import Clone, Licence
from callister.economy import Economy
from callister.moderation.feeds import EVIDENCE, Suspicion
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.server.bus import Bus
from callister.server.npcs import AgentRuntime
from callister.server.ports import Notify, Pilot, Roster, ZoneHandle
from callister.server.writer import StoreWriter
from callister.sim.boarding import Boarder, Party, eligibility, resolve

BOARD_COOLDOWN_S = 30.0
CAPTURED_CLONE = "CAPTURED_CLONE"


class Ships(Protocol):
    """What boarding needs: the shared ships (server/shipshare.py `ShipShare`) and the parts of
    the world they were given."""

    roster: Roster
    agents: AgentRuntime
    economy: Economy
    writer: StoreWriter
    bus: Bus
    notify: Notify
    pvp: bool
    world_name: str
    last_boarding: dict[tuple[str, int, int], float]  # (world, ship, target) -> monotonic time

    def is_aboard(self, account: int) -> bool: ...
    def humans_aboard(self, ship: int) -> list[int]: ...
    def broadcast_ship(self, ship: int) -> None: ...


def _party(share: Ships, ship: int, handle: ZoneHandle) -> tuple[Party, list[int]]:
    """The ship's fighters, and the accounts of the humans aboard (captain first)."""
    crew: list[Boarder] = []
    humans: list[int] = []
    roster = share.roster
    owner = roster.ship_owner.get(ship)
    if owner is not None and owner in roster.pilots:
        crew.append(Boarder(owner, "human"))
        humans.append(owner)
    for account in share.humans_aboard(ship):
        crew.append(Boarder(account, "human"))
        humans.append(account)
    pool = share.agents.pool
    for clone_id in share.agents.crews.by_ship.get(ship, ()):
        if clone_id in pool:
            c = pool.clone(clone_id)
            crew.append(Boarder(clone_id, "clone", float(getattr(c.skills, c.role.value))))
    weapons = sum(1 for w in handle.zone.vitals(ship).weapons if w)
    return Party(ship, tuple(crew), weapons), humans


async def board_attack(share: Ships, pilot: Pilot, ship: int, target: int) -> dict[str, Any]:
    roster = share.roster
    if share.is_aboard(pilot.account_id) or ship != pilot.character.ship_id:
        raise ProtocolError(ErrorCode.NOT_YOUR_SHIP, "only a ship's captain can order a boarding")
    if pilot.zone_key is None or pilot.zone_key not in roster.zones:
        raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
    handle = roster.zones[pilot.zone_key]
    zone = handle.zone
    if target == ship or not zone.has_ship(target) or not zone.has_ship(ship):
        raise ProtocolError(ErrorCode.NO_TARGET, f"no ship {target} in this system")
    victim_id = roster.ship_owner.get(target)
    victim = roster.pilots.get(victim_id) if victim_id is not None else None
    if victim is None or victim.character.ship_id != target:
        raise ProtocolError(ErrorCode.NOT_AVAILABLE, "only players' ships can be boarded")
    if not share.pvp:
        raise ProtocolError(ErrorCode.PVP_OFF, "this world forbids attacking other players")
    a, t = zone.ship_state(ship), zone.ship_state(target)
    why = eligibility(
        math.hypot(a.x - t.x, a.y - t.y),
        math.hypot(a.vx - t.vx, a.vy - t.vy),
        zone.vitals(target).shield,
        a.docked_at is not None or t.docked_at is not None,
    )
    if why is not None:
        code = ErrorCode.TOO_FAR if ("m away" in why or "m/s" in why) else ErrorCode.NOT_AVAILABLE
        if "docked" in why:
            code = ErrorCode.DOCKED
        raise ProtocolError(code, why)
    key = (share.world_name, ship, target)
    now = time.monotonic()
    if now - share.last_boarding.get(key, -math.inf) < BOARD_COOLDOWN_S:
        raise ProtocolError(
            ErrorCode.COOLDOWN, f"your boarders regroup: one attempt every {BOARD_COOLDOWN_S:.0f} s"
        )
    share.last_boarding[key] = now
    tick = roster.tick
    attackers, attacker_humans = _party(share, ship, handle)
    defenders, defender_humans = _party(share, target, handle)
    result = resolve(attackers, defenders, tick)
    items: dict[str, int] = {}
    captured: list[str] = []
    if result.attacker_won:
        items = await _take_cargo(share, pilot, victim, target, tick)
        captured = await _capture_clones(share, pilot, target, tick)
    fields = {
        "kind": "boarding",
        "ship": ship,
        "target": target,
        "attacker": pilot.name,
        "defender": victim.name,
        "attacker_won": result.attacker_won,
        "attack": round(result.attack, 3),
        "defence": round(result.defence, 3),
        "items": items,
        "captured": captured,
    }
    for account in (*attacker_humans, *defender_humans):
        share.notify(account, "event", **fields)
    for s in (ship, target):
        share.broadcast_ship(s)
    await share.agents.crews.send_crew(pilot)
    await share.agents.crews.send_crew(victim)
    return fields


async def _take_cargo(
    share: Ships, captor: Pilot, victim: Pilot, target: int, tick: int
) -> dict[str, int]:
    events, books = share.economy.events, share.economy.books
    taken = await share.writer.call(events.board, captor.character, target, tick)
    for p in (captor, victim):
        cargo = await share.writer.call(books.cargo, p.character.ship_id)
        share.roster.set_cargo(p, cargo)
    return taken


async def _capture_clones(share: Ships, captor: Pilot, target: int, tick: int) -> list[str]:
    crews = share.agents.crews
    runtime = share.agents
    pool = runtime.pool
    names: list[str] = []
    for clone_id in list(crews.by_ship.get(target, ())):
        if clone_id not in pool:
            continue
        clone: Clone = pool.remove(clone_id)
        member = crews.release(clone_id, target)
        runtime.last.pop(clone_id, None)
        licence: Licence = clone.licence
        if licence.owner != captor.account_id:
            share.bus.publish(
                EVIDENCE,
                Suspicion(
                    captor.account_id,
                    CAPTURED_CLONE,
                    "board_attack",
                    {
                        "clone": str(clone_id),
                        "name": clone.name,
                        "licence_owner": licence.owner,
                        "licence": licence.status,
                        "from_ship": target,
                        "to_ship": captor.character.ship_id,
                    },
                ),
            )
        clone.memory.add(
            tick,
            f"{captor.name} boarded our ship and captured me.",
            importance=9,
            event="captured",
            entities=(captor.account_id,),
        )
        if member is not None:
            crews.say(member.captain, clone_id, f"{clone.name} was captured.", kind="death")
        berth_free = len(crews.by_ship.get(captor.character.ship_id, [])) < 4 and not any(
            pool.clone(c).role is clone.role
            for c in crews.by_ship.get(captor.character.ship_id, ())
            if c in pool
        )
        ship_id = None
        if berth_free:
            crews.take_aboard(clone, captor)
            ship_id = captor.character.ship_id
        await share.writer.call(runtime.repo.put, clone, ship_id)
        names.append(clone.name)
    return names
