"""Crews: clones aboard players' ships (hiring, orders, ship chat), and clones in the database.

- `StoreCloneRepository`: the agents' `CloneRepository` over the `Store` (tables in
  store/migrations/*/0003_clones.sql). Synchronous like the store: call it from the writer thread.
- `CrewDesk`: the server side of crews. Candidates are generated per station deterministically
  from the world seed; hiring is a ledger payment (`player:<id>` -> `services`, one
  transaction, idempotent by the request id); the hired clone is stored with its ship and joins
  the world's `AgentPool` (see npcs.AgentRuntime). Orders and chat go to the pool. A crew
  member's intents are submitted with the clone's id as actor through the same bus and zone
  validation as the captain's: the zone accepts them because the world registers the clone as
  crew of that ship (`Zone.set_crew`); a dead or dismissed clone is unregistered, so anything it
  still sent is refused NOT_YOUR_SHIP.
"""

from __future__ import annotations

import base64
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from callister.agents import (
    Action,
    Clone,
    Decision,
    Licence,
    Order,
    Profile,
    Role,
    Skills,
    crew_modifiers,
)
from callister.agents.clonefile import (
    CloneFileError,
    SigningKey,
    issue_licence_proof,
    proof_key,
)
from callister.agents.decide import kind_of
from callister.agents.orders import ORDER_TICKS
from callister.agents.repository import (
    CloneNotFound,
    CloneSummary,
    KeyList,
    TrustEntry,
    TrustList,
    new_clone_id,
)
from callister.economy import SERVICES, EconomyError, player_account, transfer
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.server.speech import is_order
from callister.store import (
    CloneFilter,
    CloneRow,
    Consent,
    InsufficientFunds,
    MemoryRow,
    RelationshipRow,
    Store,
)

if TYPE_CHECKING:
    from callister.content import Content
    from callister.server.ports import Notify, Pilot, Residents
    from callister.server.writer import StoreWriter

Person = Callable[..., tuple[str, tuple[str, ...], Skills]]
"""`server.npcs.person(seed, *parts)`: a generated name, traits and skills (injected, so this
module does not import the agent runtime that builds it)."""

log = logging.getLogger(__name__)

HIRE_BASE_PRICE = 400  # credits for a crew member of skill 0; + 1600 x skill at their station
CANDIDATES_PER_STATION = 3
MAX_CREW = 4  # one per station
CHAT_MAX = 200  # characters of one crew chat line


# --------------------------------------------------------------------- the repository
def _checked_proof_key(licence: Licence) -> bytes | None:
    """The signer of the licence's proof if the proof checks out (trust is the store's
    question), else None."""
    if licence.home is None or licence.proof is None:
        return None
    try:
        return proof_key(licence)
    except CloneFileError:
        return None


def clone_to_row(clone: Clone, ship_id: int | None = None) -> CloneRow:
    """The store's row for `clone`. Another server's subject is not one of our accounts, so
    it goes in the document only; the store computes the licence status itself."""
    licence = clone.licence
    foreign = licence.subject is not None and licence.home is not None
    d = clone.to_dict()
    memory = d.pop("memory")
    items = memory.pop("items")
    rels = d.pop("relationships")
    d["memory"] = memory
    return CloneRow(
        id=clone.id,
        world=clone.world,
        name=clone.name,
        role=clone.role.value,
        goal=clone.goals.primary.value,
        ship_id=ship_id,
        owner_id=licence.owner,
        subject_id=None if foreign else licence.subject,
        consent_id=licence.consent,
        licence=licence.status,
        licence_home=licence.home if foreign else None,
        licence_key=_checked_proof_key(licence) if foreign else None,
        parent_id=clone.lineage.parent,
        fork_tick=clone.lineage.fork_tick,
        generation=clone.lineage.generation,
        origin_world=clone.lineage.origin_world,
        born_tick=clone.lineage.born_tick,
        alive=clone.alive,
        died_tick=clone.died_tick,
        death_cause=clone.death_cause,
        doc=d,
        next_memory=clone.memory.next_seq,
        memories=tuple(
            MemoryRow(
                seq=m["seq"],
                tick=m["tick"],
                kind=m["kind"],
                importance=float(m["importance"]),
                event=m["event"],
                entities=tuple(m["entities"]),
                text=m["text"],
                embedding=base64.b64decode(m["embedding"]),
                last_access=m["last_access"],
            )
            for m in items
        ),
        relationships=tuple(
            RelationshipRow(
                entity=r["entity"],
                name=r.get("name", ""),
                trust=float(r["trust"]),
                affinity=float(r["affinity"]),
                hostile=bool(r["hostile"]),
                attacks=int(r["attacks"]),
                helps=int(r["helps"]),
                last_tick=int(r["last_tick"]),
            )
            for r in rels
        ),
    )


def row_to_clone(row: CloneRow) -> Clone:
    d = dict(row.doc)
    memory = dict(d.pop("memory"))
    memory["items"] = [
        {
            "seq": m.seq,
            "tick": m.tick,
            "kind": m.kind,
            "importance": m.importance,
            "text": m.text,
            "entities": list(m.entities),
            "event": m.event,
            "last_access": m.last_access,
            "embedding": base64.b64encode(m.embedding).decode("ascii"),
        }
        for m in row.memories
    ]
    d["memory"] = memory
    d["relationships"] = [
        {
            "entity": r.entity,
            "name": r.name,
            "trust": r.trust,
            "affinity": r.affinity,
            "hostile": r.hostile,
            "attacks": r.attacks,
            "helps": r.helps,
            "last_tick": r.last_tick,
        }
        for r in row.relationships
    ]
    clone = Clone.from_dict(d)
    clone.licence = replace(clone.licence, proven=row.licence == "licensed")
    return clone


class StoreCloneRepository:
    """`CloneRepository` over a `Store`: clones live in the server's database. `world` names
    the world whose signing key `signing_key()` uses (created on first use, kept in
    world_keys)."""

    def __init__(self, store: Store, world: str = "infinity") -> None:
        self.store = store
        self.world = world
        self.dir = f"the {store.db.dialect} database"  # for messages shared with JsonDirRepository

    def get(self, clone_id: int) -> Clone:
        row = self.store.clones.get(clone_id)
        if row is None:
            raise CloneNotFound(f"no clone {clone_id} in {self.dir}")
        return row_to_clone(row)

    def get_row(self, clone_id: int) -> CloneRow | None:
        return self.store.clones.get(clone_id)

    def put(self, clone: Clone, ship_id: int | None = None) -> None:
        self.store.clones.put(clone_to_row(clone, ship_id))

    def put_many(self, clones: Iterable[tuple[Clone, int | None]]) -> None:
        self.store.clones.put_many([clone_to_row(c, s) for c, s in clones])

    def exists(self, clone_id: int) -> bool:
        return self.store.clones.exists(clone_id)

    def list(self, *, world: str | None = None, alive: bool | None = None) -> list[CloneSummary]:
        return [
            CloneSummary(
                id=c.id,
                name=c.name,
                world=c.world,
                role=c.role,
                goal=c.goal,
                alive=c.alive,
                licence=c.licence,
                memories=c.memories,
                parent=c.parent_id,
                generation=c.generation,
            )
            for c in self.store.clones.find(CloneFilter(world=world, alive=alive), limit=100_000)
        ]

    def new_id(self) -> int:
        while True:
            clone_id = new_clone_id()
            if not self.exists(clone_id):
                return clone_id

    def purge(self, clone_id: int) -> None:
        if not self.store.clones.purge(clone_id):
            raise CloneNotFound(f"no clone {clone_id} in {self.dir}")

    def signing_key(self) -> SigningKey:
        pem = self.store.clones.world_key(self.world)
        if pem is None:
            pem = self.store.clones.world_key(self.world, SigningKey.generate().to_pem().decode())
        assert pem is not None
        return SigningKey.from_bytes(pem.encode())

    def consent_record(self, subject: int, consent: str, owner: int | None) -> Consent | None:
        """The consent record `consent` of account `subject` if it is not revoked and covers
        `owner` (granted to them or to anyone); else None."""
        for c in self.store.clones.list_consents(subject):
            if str(c.id) == consent and c.active and c.grantee_id in (None, owner):
                return c
        return None

    def licence_proof(self, clone: Clone, key: SigningKey) -> dict[str, Any] | None:
        """A licence proof signed by `key` for the clone's consent record on this server, when
        that record licenses it now (see `consent_record`); None otherwise (nothing to prove,
        another server's licence, or no such record)."""
        licence = clone.licence
        if licence.subject is None or licence.home is not None or licence.consent is None:
            return None
        record = self.consent_record(licence.subject, licence.consent, licence.owner)
        if record is None:
            return None
        return issue_licence_proof(
            key,
            subject=licence.subject,
            consent=licence.consent,
            grantee=record.grantee_id,
            granted_at=record.granted_at,
            issued_at=time.time(),
        )

    def own_keys(self) -> KeyList:
        """This server's public keys: every world's signing key in this database (the worlds
        share its accounts), this repository's world's created if missing."""
        self.signing_key()
        return [
            SigningKey.from_bytes(pem.encode()).public_bytes
            for _, pem in self.store.clones.signing_keys()
        ]

    def trusted_keys(self, world: str) -> TrustList:
        """The keys an administrator trusts for `world`, oldest first."""
        return [
            TrustEntry(k.world, k.public_key, k.label, k.added_at)
            for k in self.store.clones.trusted_keys(world)
        ]

    def trust(self, world: str, public_key: bytes, label: str, actor: int | None = None) -> None:
        """Trust `public_key` in `world` (audited)."""
        self.store.clones.trust_key(world, public_key, label, actor)

    def untrust(self, world: str, public_key: bytes, actor: int | None = None) -> bool:
        """Stop trusting `public_key` in `world` (audited); False if it was not trusted."""
        return self.store.clones.untrust_key(world, public_key, actor)


# --------------------------------------------------------------------------- crews
ORDERS: dict[str, Action] = {
    "attack": Action.DEFEND,
    "hold_fire": Action.IDLE,
    "dock": Action.DOCK,
    "flee": Action.FLEE,
    "shields": Action.SHIELDS,
    "mine": Action.MINE,
    "hold": Action.HOLD,
}
"""`crew_order` names -> the order's action (`cancel` clears orders)."""
_PILOT_FREE = frozenset({Action.FLEE})  # what a crew pilot does unordered on the captain's ship
SHIELD_BOOST = 1.5  # x shield regeneration while the engineer has power on the shields
BOOST_TICKS = 200


def _price(skill: float) -> int:
    return HIRE_BASE_PRICE + int(1600 * skill)


@dataclass(slots=True)
class CrewMember:
    clone_id: int
    ship: int
    captain: int  # account id


class CrewDesk:
    """Hiring, orders, ship chat and the crew's own actions (see the module docstring)."""

    def __init__(
        self,
        world: Residents,
        runtime: Any,
        *,
        world_name: str,
        seed: int,
        content: Content,
        store: Store,
        writer: StoreWriter,
        notify: Notify,
        person: Person,
    ) -> None:
        self.world = world  # the zone registry and who is in it (server/ports.py)
        self.world_name, self.seed, self.content = world_name, seed, content
        self.store, self.writer, self.notify, self.person = store, writer, notify, person
        self.runtime = runtime
        self.members: dict[int, CrewMember] = {}  # by clone id
        self.by_ship: dict[int, list[int]] = {}  # ship id -> clone ids
        self.boost_until: dict[int, int] = {}  # ship -> tick the engineer's shield boost ends
        self._tuned: dict[int, tuple[str, tuple[float, ...]]] = {}

    @property
    def active(self) -> bool:
        return bool(self.members)

    # -- lookups used by the runtime ----------------------------------------------------
    def ship_of(self, clone_id: int) -> int | None:
        m = self.members.get(clone_id)
        return None if m is None else m.ship

    def captain_of(self, ship: int) -> int | None:
        ids = self.by_ship.get(ship)
        return self.members[ids[0]].captain if ids else None

    def zone_of(self, ship: int) -> str | None:
        owner = self.world.ship_owner.get(ship)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        return pilot.zone_key if pilot is not None else None

    def may_act(self, d: Decision) -> bool:
        """The crew pilot flies the captain's ship only to flee a lost fight or on orders;
        other stations act freely (fire, mine)."""
        if d.kind.name != "PILOT":
            return True
        return (
            d.action in _PILOT_FREE
            or self.runtime.pool._orders[self.runtime.pool._row_of(d.clone)] is not None
        )

    def decided(self, d: Decision, tick: int) -> None:
        """A crew member's fresh decision: power to shields, and a line in ship chat when its
        action changed (it explains itself)."""
        if d.power == "shields":
            if self.boost_until.get(d.ship, 0) < tick:
                self._tuned.pop(d.ship, None)
            self.boost_until[d.ship] = tick + BOOST_TICKS
        if d.changed and d.action is not Action.IDLE:
            m = self.members.get(d.clone)
            if m is not None:
                self.say(m.captain, d.clone, d.say, kind="auto", action=d.action.name.lower())

    def say(self, captain: int, clone_id: int, text: str, *, kind: str, **extra: Any) -> None:
        name = self.runtime.names.get(clone_id, "a crew member")
        self.notify(
            captain, "chat", **{"from": name}, clone=str(clone_id), text=text, kind=kind, **extra
        )

    # -- per tick -----------------------------------------------------------------------
    def sync(self, tick: int) -> None:
        """Keep crews with their ships: the pool's zone follows the ship (jumps), and the
        ship's performance follows its crew (reapplied after the ship is placed again)."""
        pool = self.runtime.pool
        for ship, ids in list(self.by_ship.items()):
            key = self.zone_of(ship)
            if key is None:
                continue
            for clone_id in ids:
                if (
                    clone_id in pool
                    and pool._zone_keys[int(pool._cols["zone"][pool._row_of(clone_id)])] != key
                ):
                    pool.move(clone_id, zone=key)
                    self._tuned.pop(ship, None)
            handle = self.world.zones.get(key)
            if handle is not None and handle.zone.has_ship(ship):
                handle.zone.set_crew(ids[0], ship)  # idempotent; cheap
                for clone_id in ids:
                    handle.zone.set_crew(clone_id, ship)
                if tick % 10 == 0 or ship not in self._tuned:
                    self._tune(handle, ship, tick)

    def modifiers(self, ship: int) -> Any:
        pool = self.runtime.pool
        return crew_modifiers(pool.clone(c) for c in self.by_ship.get(ship, ()) if c in pool)

    def _tune(self, handle: Any, ship: int, tick: int) -> None:
        owner = self.world.ship_owner.get(ship)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        if pilot is None:
            return
        hull = self.content.hulls.get(pilot.character.hull, self.content.starter_hull)
        mods = self.modifiers(ship)
        boost = SHIELD_BOOST if self.boost_until.get(ship, 0) >= tick else 1.0
        values = (
            hull.shield_regen * mods.shield_recharge * boost,
            math.radians(hull.turn_rate) * mods.turn_rate,
            mods.mining_yield,
        )
        if self._tuned.get(ship) == (hull.key, values) and tick % 10:
            return
        handle.zone.tune_ship(
            ship, shield_regen=values[0], turn_rate=values[1], mining_mult=values[2]
        )
        self._tuned[ship] = (hull.key, values)

    def ship_lost(self, ship: int, tick: int, killer: str) -> list[tuple[Clone, int | None]]:
        """The ship was destroyed: its crew die with it (archives)."""
        out: list[tuple[Clone, int | None]] = []
        for clone_id in self.by_ship.pop(ship, []):
            m = self.members.pop(clone_id, None)
            self.runtime.last.pop(clone_id, None)
            if clone_id in self.runtime.pool:
                clone = self.runtime.pool.kill(clone_id, tick, f"ship destroyed by {killer}")
                out.append((clone, ship))
                if m is not None:
                    self.say(m.captain, clone_id, f"{clone.name} died with the ship.", kind="death")
            self._unregister(clone_id, ship)
        self._tuned.pop(ship, None)
        return out

    def disembark(self, ship: int) -> list[tuple[Clone, int | None]]:
        """The ship leaves this process (a cluster hand-off to another worker): its crew leave
        memory here, to be stored (still aboard `ship`) and boarded again where it arrives."""
        out: list[tuple[Clone, int | None]] = []
        for clone_id in self.by_ship.pop(ship, []):
            self.members.pop(clone_id, None)
            self.runtime.last.pop(clone_id, None)
            if clone_id in self.runtime.pool:
                out.append((self.runtime.pool.remove(clone_id), ship))
            self._unregister(clone_id, ship)
        self._tuned.pop(ship, None)
        self.boost_until.pop(ship, None)
        return out

    def _unregister(self, clone_id: int, ship: int) -> None:
        key = self.zone_of(ship)
        handle = self.world.zones.get(key) if key else None
        if handle is not None:
            handle.zone.set_crew(clone_id, None)
        for h in self.world.zones.values():
            h.zone.set_crew(clone_id, None)

    # -- candidates and the crew message --------------------------------------------------
    def candidates(
        self, sector: tuple[int, int], station: int, station_name: str = "the station"
    ) -> list[Clone]:
        """Who is looking for a berth at this station: deterministic from the world seed."""
        x, y = sector
        extra = (Role.PILOT, Role.MINER)[zlib.crc32(f"{x}:{y}:{station}".encode()) % 2]
        roles = (Role.GUNNER, Role.ENGINEER, extra)  # every station offers a gunner
        out = []
        for i in range(CANDIDATES_PER_STATION):
            name, traits, skills = self.person(self.seed, x, y, station, 1000 + i)
            role = roles[i]
            clone_id = (
                (1 << 61)
                | (zlib.crc32(f"crew:{self.seed}:{x}:{y}:{station}:{i}".encode()) << 20)
                | (i & 0xFFFFF)
            )
            clone = Clone.create(
                clone_id,
                Profile(
                    name=name,
                    background=f"Waited for a berth at {station_name}.",
                    traits=traits,
                    skills=skills,
                ),
                world=self.world_name,
                tick=0,
                role=role,
                licence=Licence(),
            )
            out.append(clone)
        return out

    def _docked(self, pilot: Pilot) -> tuple[Any, int] | None:
        state = self.world.ship_state(pilot)
        if state is None or state.docked_at is None or pilot.zone_key is None:
            return None
        return self.world.zones[pilot.zone_key], state.docked_at

    @staticmethod
    def station_name(handle: Any, station: int) -> str:
        """The station's name in its system (what people call it)."""
        for s in handle.system.stations:
            if s.index == station:
                return str(s.name)
        return "the station"

    def candidates_at(self, handle: Any, station: int) -> list[Clone]:
        return self.candidates(handle.sector, station, self.station_name(handle, station))

    def docking_changed(self, ship: int) -> None:
        """A player's ship docked or undocked: their `crew` message (the station's
        candidates, or none) goes out at once."""
        owner = self.world.ship_owner.get(ship)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        if pilot is not None and pilot.character.ship_id == ship:
            self.world.spawn(self.send_crew(pilot), f"crew {ship}")

    async def crew_message(self, pilot: Pilot) -> dict[str, Any]:
        ship = pilot.character.ship_id
        pool = self.runtime.pool
        crew = []
        for clone_id in self.by_ship.get(ship, ()):
            if clone_id not in pool:
                continue
            c = pool.clone(clone_id)
            last = self.runtime.last.get(clone_id)
            order = pool._orders[pool._row_of(clone_id)]
            crew.append(
                {
                    "id": str(c.id),
                    "name": c.name,
                    "role": c.role.value,
                    "skill": round(getattr(c.skills, c.role.value), 2),
                    "skills": c.skills.to_dict(),
                    "traits": list(c.profile.traits),
                    "mood": c.mood.label,
                    "licence": c.licence.status,
                    "alive": c.alive,
                    "doing": last.action.name.lower() if last else "idle",
                    "order": order.action.name.lower() if order else None,
                }
            )
        mods = self.modifiers(ship)
        out: dict[str, Any] = {
            "ship": ship,
            "crew": crew,
            "modifiers": {
                "aim_spread": mods.aim_spread,
                "shield_recharge": mods.shield_recharge,
                "mining_yield": mods.mining_yield,
                "turn_rate": mods.turn_rate,
            },
            "candidates": [],
            "station": None,
            "station_name": None,
            "max_crew": MAX_CREW,
        }
        docked = self._docked(pilot)
        if docked is not None:
            handle, station = docked
            out["station"] = station
            out["station_name"] = self.station_name(handle, station)
            hired = set(self.members)
            cands = [c for c in self.candidates_at(handle, station) if c.id not in hired]
            exists = self.store.clones.exists

            def taken_ids() -> set[int]:  # one trip to the writer thread for them all
                return {c.id for c in cands if exists(c.id)}

            taken = await self.writer.call(taken_ids) if cands else set()
            for c in cands:
                if c.id in taken:
                    continue
                skill = getattr(c.skills, c.role.value)
                out["candidates"].append(
                    {
                        "id": str(c.id),
                        "name": c.name,
                        "role": c.role.value,
                        "skill": round(skill, 2),
                        "skills": c.skills.to_dict(),
                        "traits": list(c.profile.traits),
                        "price": _price(skill),
                    }
                )
        return out

    async def send_crew(self, pilot: Pilot) -> None:
        self.notify(pilot.account_id, "crew", **await self.crew_message(pilot))

    # -- boarding ---------------------------------------------------------------------------
    async def board_saved(self, pilot: Pilot) -> None:
        """On login: the pilot's living crew aboard this ship come back from the database."""
        ship = pilot.character.ship_id
        rows = await self.writer.call(
            self.store.clones.find,
            CloneFilter(owner_id=pilot.account_id, ship_id=ship, alive=True),
        )
        for info in rows:
            if info.id in self.members:
                continue
            row = await self.writer.call(self.store.clones.get, info.id)
            if row is None:
                continue
            self._aboard(row_to_clone(row), pilot)

    def release(self, clone_id: int, ship: int) -> CrewMember | None:
        """Take a clone off `ship`'s crew (captured in a boarding): its berth, its station in
        the zone and the ship's tuning go; returns its membership, if it had one."""
        member = self.members.pop(clone_id, None)
        ids = self.by_ship.get(ship)
        if ids is not None and clone_id in ids:
            ids.remove(clone_id)
            if not ids:
                del self.by_ship[ship]
        self._unregister(clone_id, ship)
        self._tuned.pop(ship, None)
        return member

    def take_aboard(self, clone: Clone, pilot: Pilot) -> None:
        """A clone joins the pilot's crew (a captured one, after a won boarding)."""
        self._aboard(clone, pilot)

    def _aboard(self, clone: Clone, pilot: Pilot) -> None:
        ship = pilot.character.ship_id
        pool = self.runtime.pool
        if pilot.zone_key is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        pool.add(clone, ship=ship, zone=pilot.zone_key)
        self.runtime.names[clone.id] = clone.name
        self.runtime.names.setdefault(pilot.account_id, pilot.name)
        self.members[clone.id] = CrewMember(clone.id, ship, pilot.account_id)
        self.by_ship.setdefault(ship, []).append(clone.id)
        self._tuned.pop(ship, None)
        handle = self.world.zones.get(pilot.zone_key)
        if handle is not None:
            handle.zone.set_crew(clone.id, ship)

    async def hire(self, pilot: Pilot, rid: str, candidate: int) -> dict[str, Any]:
        """Hire a candidate of the station the pilot is docked at: one ledger payment."""
        docked = self._docked(pilot)
        if docked is None:
            raise ProtocolError(ErrorCode.NOT_DOCKED, "dock at a station to hire crew")
        handle, station = docked
        ship = pilot.character.ship_id
        found = next((c for c in self.candidates_at(handle, station) if c.id == candidate), None)
        if found is None:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"nobody {candidate} is for hire here")
        if candidate in self.members or await self.writer.call(self.store.clones.exists, candidate):
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"{found.name} has already been hired")
        crew = self.by_ship.get(ship, [])
        if len(crew) >= MAX_CREW:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"your ship has berths for {MAX_CREW}")
        if any(self.runtime.pool.clone(c).role is found.role for c in crew):
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE, f"your {found.role.value}'s station is taken"
            )
        price = _price(getattr(found.skills, found.role.value))
        account = player_account(pilot.account_id)
        clone = Clone.from_dict(
            found.to_dict() | {"licence": Licence(owner=pilot.account_id).to_dict()}
        )
        clone.lineage = clone.lineage  # born when generated; hired now:
        clone.memory.add(
            self.world.tick,
            f"{pilot.name} hired me as {found.role.value} of their ship at "
            f"{self.station_name(handle, station)} for {price} credits.",
            importance=7,
            event="hired",
            entities=(pilot.account_id,),
        )
        clone.relationships.of(pilot.account_id, pilot.name).trust = 0.3

        def pay_and_store() -> Any:
            txn = self.store.ledger.commit(
                self.world_name,
                f"hire:{pilot.account_id}:{rid}",
                "hire",
                account=account,
                postings=transfer(account, SERVICES, price),
                result={"clone": str(clone.id), "price": price},
                report_accounts=(account,),
            )
            if not txn.replay:
                self.runtime.repo.put(clone, ship)
            return txn

        try:
            txn = await self.writer.call(pay_and_store)
        except InsufficientFunds:
            raise EconomyError(
                ErrorCode.INSUFFICIENT_FUNDS, f"{found.name} asks {price} credits"
            ) from None
        pilot.credits = txn.balances.get(account, pilot.credits)
        if not txn.replay:
            self._aboard(clone, pilot)
            self.say(
                pilot.account_id,
                clone.id,
                f"{clone.name}, {found.role.value}, reporting aboard. Ready when you are, captain.",
                kind="hired",
            )
        await self.send_crew(pilot)
        return {"rid": rid, "txn": txn.id, "price": price, "credits": pilot.credits,
                "clone": str(clone.id), "replay": txn.replay}  # fmt: skip

    def _mine(self, pilot: Pilot, crew: int) -> list[int]:
        ids = self.by_ship.get(pilot.character.ship_id, [])
        if crew == 0:
            return list(ids)
        if crew not in ids:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{crew} is not in your crew")
        return [crew]

    async def dismiss(self, pilot: Pilot, crew: int) -> None:
        if crew == 0:
            raise ProtocolError(ErrorCode.BAD_FIELD, "name the crew member to dismiss")
        (clone_id,) = self._mine(pilot, crew)
        ship = pilot.character.ship_id
        clone = self.runtime.pool.remove(clone_id)
        self.members.pop(clone_id, None)
        self.by_ship[ship].remove(clone_id)
        if not self.by_ship[ship]:
            del self.by_ship[ship]
        self.runtime.last.pop(clone_id, None)
        self._unregister(clone_id, ship)
        self._tuned.pop(ship, None)
        clone.memory.add(
            self.world.tick,
            f"{pilot.name} dismissed me.",
            importance=6,
            event="dismissed",
            entities=(pilot.account_id,),
        )
        await self.writer.call(self.runtime.repo.put, clone, None)
        self.say(pilot.account_id, clone_id, f"{clone.name} has left the ship.", kind="dismissed")
        await self.send_crew(pilot)

    def order(self, pilot: Pilot, crew: int, name: str, target: int) -> list[str]:
        """A captain's order button: to one crew member or all (crew 0). Whoever takes it
        answers (an acknowledgement only when it can carry the order out now, else why not);
        when nobody's station can, one crew member says it is the captain's to do."""
        tick = self.world.tick
        pool = self.runtime.pool
        target_actor = None
        if target:
            key = pilot.zone_key
            handle = self.world.zones.get(key) if key else None
            row = handle.zone.store.find(target) if handle is not None else None
            if row is None:
                raise ProtocolError(ErrorCode.NO_TARGET, f"no ship {target} in this system")
            target_actor = int(handle.zone.store.owner.item(row))  # type: ignore[union-attr]
        # the order the button gives, one for every crew member it goes to ("cancel": None)
        order = (
            None
            if name == "cancel"
            else Order(ORDERS[name], tick + ORDER_TICKS, target_actor, name.replace("_", " "))
        )
        took = []
        asked = self._mine(pilot, crew)
        for clone_id in asked:
            if order is None:
                pool.cancel_order(clone_id)
                took.append(clone_id)
            elif pool.order(clone_id, order):
                took.append(clone_id)

        def acknowledge(clone_id: int) -> str:
            if order is None:
                text = "Orders cleared."
            else:
                text = pool.answer_order(
                    clone_id,
                    order,
                    speaker=pilot.account_id,
                    speaker_name=pilot.name,
                    tick=tick,
                    holder=pilot.name,
                )
            self.say(pilot.account_id, clone_id, text, kind="ack", order=name)
            return text

        lines = [acknowledge(clone_id) for clone_id in took]
        if not took and asked and order is not None:
            lines.append(acknowledge(asked[0]))  # why nobody can: said by one of them
        return lines

    def chat(self, pilot: Pilot, crew: int, text: str) -> None:
        """The captain talks to the crew; each addressed clone answers from its memories (and
        an order in the words is applied, as in `AgentPool.chat`)."""
        ids = self._mine(pilot, crew)
        if not ids:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you have no crew; hire one at a station")
        self.notify(
            pilot.account_id, "chat", **{"from": pilot.name}, clone=None, text=text, kind="captain"
        )
        for clone_id in ids:
            self.answer(clone_id, text, pilot, captain=pilot.account_id, orders=True)

    def answer(
        self, clone_id: int, text: str, speaker: Pilot, *, captain: int, orders: bool
    ) -> None:
        """`speaker` said `text` to crew member `clone_id` aboard `captain`'s ship: it
        answers in the ship's chat. From templates at once (and always for orders); with a
        language model (`runtime.speech`), in a task off the tick that falls back to the
        template on a timeout or a bad answer."""
        pool = self.runtime.pool
        speech = self.runtime.speech
        tick = self.world.tick
        holder = self.world.pilots[captain].name if captain in self.world.pilots else None
        if not speech.enabled or (orders and is_order(text, tick)):
            reply = pool.chat(
                clone_id,
                text,
                speaker=speaker.account_id,
                speaker_name=speaker.name,
                tick=tick,
                captain=orders,
                holder=holder,
            )
            self.say(captain, clone_id, reply.text, kind="reply", source=reply.source)
            return

        async def ask() -> None:
            if clone_id not in pool:
                return
            clone = pool.clone(clone_id)
            reply = await speech.reply(
                clone,
                text,
                speaker=speaker.account_id,
                speaker_name=speaker.name,
                tick=tick,
                allow_orders=orders,
                crew=[(c.name, kind_of(c)) for c in pool.crewmates(clone_id)],
                holder=holder,
                possible=pool.possible(clone_id),
            )
            if clone_id in pool and clone.alive:
                pool.apply_reply(clone_id, reply)
                self.say(captain, clone_id, reply.text, kind="reply", source=reply.source)

        self.world.spawn(ask(), f"reply {clone_id}")
