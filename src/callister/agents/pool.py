"""`AgentPool`: every agent of a world (or of one zone worker), in columns, thinking zone by zone.

The pool owns the clones while they live in the world, their per-agent columns (personality,
mood, skills, stance, last attacker, orders ...), and the thinking cadence (`Cadence`):

- a zone with no player in it: nobody there thinks (the zone may even be asleep);
- each zone has a beat every `near_every` ticks (1 Hz at 20 Hz), phase-shifted so that zones
  take turns evenly (a hash of its key picks the phase, moved on to the least used one); on its
  beat, agents within `near_radius` of a player think, the rest on every
  (far_every / near_every)-th beat (0.2 Hz), spread by their own phase;
- an agent attacked in the last `alert_ticks` thinks every `combat_every` ticks (2 Hz), all
  those of a zone on the same tick (the zone's combat beat);
- an agent woken by an event (attacked, ordered, hailed) thinks on the next step.

So the work per tick is the agents of ~1/20 of the occupied zones (plus fights), scored in one
batch: `callister bench agents` measures it.

Integration (the server's tick, for each world):

    decisions = pool.step(tick, view_for)      # view_for(zone_key) -> ZoneView | None
    for d in decisions:
        for intent in to_intents(d, pose_of(d.ship)): zone.submit(intent)   # same validation
        if d.changed: ship_chat(d.ship, d.clone, d.say)
    ... and events: pool.notice_ship(ship_id, SeenEvent(...)) for attacks, crimes, docking.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from callister.agents.decide import (
    Action,
    Decision,
    Kind,
    Traits,
    ZonePart,
    choose,
    feel,
    kind_of,
    make_decisions,
    settle,
    utilities,
)
from callister.agents.dialogue import Reply, answer_order, template_reply
from callister.agents.errors import AgentError
from callister.agents.mind import (
    NEVER,
    hostile_slots,
    jolt,
    kind_allows,
    mood_from_array,
    notice,
    obedience,
    us_of,
)
from callister.agents.model import Clone, Goal
from callister.agents.observe import (
    ATTACK_MEMORY,
    HOSTILE_SLOTS,
    NONE,
    AgentColumns,
    SeenEvent,
    Senses,
    Stance,
    ZoneView,
    concat_senses,
    sense,
)
from callister.agents.orders import Order, for_role
from callister.agents.reflection import REFLECT_THRESHOLD, reflect
from callister.agents.speech import KEY_COOLDOWN, SpeechLog

ZoneKey = Hashable
REPEAT_TICKS: Final = KEY_COOLDOWN  # the same news at most once per 2 minutes (speech.py)
ENGAGEMENT_TICKS: Final = 2 * 60 * 20  # who started a fight is remembered this long


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often agents think (ticks at the zone's tick rate)."""

    near_every: int = 20
    far_every: int = 100
    combat_every: int = 10
    alert_ticks: int = ATTACK_MEMORY
    near_radius: float = 6000.0
    reflect_threshold: float = REFLECT_THRESHOLD

    def __post_init__(self) -> None:
        if self.near_every < 1 or self.combat_every < 1:
            raise ValueError("near_every and combat_every must be >= 1")
        if self.far_every < self.near_every or self.far_every % self.near_every:
            raise ValueError("far_every must be a multiple of near_every")


def stance_for(clone: Clone) -> Stance:
    """The stance an NPC's goal gives its ship (crews fly under their ship's stance)."""
    return {Goal.PIRATE: Stance.PIRATE, Goal.PATROL: Stance.PATROL}.get(
        clone.goals.primary, Stance.CIVILIAN
    )


def _phase(key: object, period: int) -> int:
    return zlib.crc32(repr(key).encode()) % period


@dataclass(frozen=True, slots=True)
class StepStats:
    """What the last `step` did: zones looked at, agents that thought."""

    tick: int = 0
    zones: int = 0
    thought: int = 0


_COLUMNS: Final = (
    ("clone_id", np.int64, ()),
    ("ship", np.int64, ()),
    ("zone", np.int32, ()),
    ("kind", np.int8, ()),
    ("stance", np.int8, ()),
    ("personality", np.float32, (5,)),
    ("mood", np.float32, (4,)),
    ("skills", np.float32, (4,)),
    ("last_attacker", np.int64, ()),
    ("attacked_tick", np.int64, ()),
    ("hostile", np.int64, (HOSTILE_SLOTS,)),
    ("dest", np.int32, ()),
    ("phase", np.int32, ()),
    ("order", np.int8, ()),
    ("order_until", np.int64, ()),
    ("obedience", np.float32, ()),
    ("last_action", np.int8, ()),
    ("woken", np.bool_, ()),
    ("wary", np.float32, ()),
    ("hop", np.int16, ()),
    ("thought_tick", np.int64, ()),
    ("possible", np.int32, ()),  # bit per Action: what it could do when it last thought
)


class AgentPool:
    """Agents in columns. Not thread-safe: call it from the tick loop only."""

    def __init__(
        self, *, cadence: Cadence | None = None, names: dict[int, str] | None = None
    ) -> None:
        self.cadence = cadence or Cadence()
        self.names: dict[int, str] = names if names is not None else {}
        self.stats = StepStats()
        self._n = 0
        self._cap = 0
        self._cols: dict[str, NDArray[Any]] = {}
        self._grow(64)
        self._clones: list[Clone] = []
        self._orders: list[Order | None] = []
        self._row: dict[int, int] = {}
        self._zone_keys: list[ZoneKey] = []
        self._zone_idx: dict[ZoneKey, int] = {}
        self._zphase = np.zeros(0, np.int64)
        self._beats: dict[int, list[int]] = {}
        self._member_cache: dict[int, NDArray[np.intp]] = {}
        self._noticed: set[int] = set()  # clone ids with new memories since they last thought
        self.speech = SpeechLog()  # what each clone said lately, to whom (no repetition)
        # clone id -> (actor it fired on first, tick): "they're attacking us" is not said of
        # someone we attacked, who is only firing back
        self._started: dict[int, tuple[int, int]] = {}

    # columns -----------------------------------------------------------------------------

    def _grow(self, cap: int) -> None:
        for name, dtype, shape in _COLUMNS:
            new = np.zeros((cap, *shape), dtype)
            if name in self._cols:
                new[: self._n] = self._cols[name][: self._n]
            self._cols[name] = new
        self._cap = cap

    def _c(self, name: str) -> NDArray[Any]:
        return self._cols[name]

    def __len__(self) -> int:
        return self._n

    def __contains__(self, clone_id: object) -> bool:
        return clone_id in self._row

    def __iter__(self) -> Iterator[Clone]:
        return iter(list(self._clones))

    def _zone(self, key: ZoneKey) -> int:
        z = self._zone_idx.get(key)
        if z is None:
            z = self._zone_idx[key] = len(self._zone_keys)
            self._zone_keys.append(key)
            # the zone's beat: its hash's phase, or the next one with fewer zones (balance)
            period = self.cadence.near_every
            want = _phase(key, period)
            least = min(len(self._beats.get(p, ())) for p in range(period))
            phase = next(
                (want + i) % period
                for i in range(period)
                if len(self._beats.get((want + i) % period, ())) == least
            )
            self._zphase = np.append(self._zphase, phase)
            self._beats.setdefault(phase, []).append(z)
        return z

    # membership --------------------------------------------------------------------------

    def add(
        self,
        clone: Clone,
        *,
        ship: int,
        zone: ZoneKey,
        stance: Stance | None = None,
        dest: int = NONE,
    ) -> None:
        """Put a living clone aboard `ship` in `zone` (CloneDead for a dead one)."""
        clone.require_alive()
        if clone.id in self._row:
            raise AgentError(f"clone {clone.id} is already in the pool")
        if self._n == self._cap:
            self._grow(self._cap * 2)
        i = self._n
        c = self._cols
        c["clone_id"][i] = clone.id
        c["ship"][i] = ship
        c["zone"][i] = self._zone(zone)
        c["kind"][i] = int(kind_of(clone))
        c["stance"][i] = int(stance if stance is not None else stance_for(clone))
        c["personality"][i] = clone.personality.as_tuple()
        c["mood"][i] = clone.mood.as_tuple()
        c["skills"][i] = clone.skills.as_tuple()
        c["last_attacker"][i] = NONE
        c["attacked_tick"][i] = NEVER
        c["hostile"][i] = hostile_slots(clone)
        c["dest"][i] = dest
        c["phase"][i] = zlib.crc32(clone.id.to_bytes(8, "little")) % 1_000_003
        c["order"][i] = NONE
        c["order_until"][i] = NEVER
        c["obedience"][i] = obedience(clone)
        c["last_action"][i] = NONE
        c["woken"][i] = False
        c["wary"][i] = 0.0
        c["hop"][i] = NONE
        c["thought_tick"][i] = NEVER
        c["possible"][i] = -1  # not known yet: assume anything its station allows
        self._clones.append(clone)
        self._orders.append(None)
        self._row[clone.id] = i
        self._n += 1
        self._member_cache.pop(int(c["zone"][i]), None)

    def _sync_row(self, i: int) -> Clone:
        clone = self._clones[i]
        clone.mood = mood_from_array(self._c("mood")[i])
        return clone

    def clone(self, clone_id: int) -> Clone:
        """The clone (its mood brought up to date from the pool's columns)."""
        return self._sync_row(self._row_of(clone_id))

    def clones(self) -> list[Clone]:
        """All clones, moods synced (call before checkpointing them)."""
        return [self._sync_row(i) for i in range(self._n)]

    def _row_of(self, clone_id: int) -> int:
        try:
            return self._row[clone_id]
        except KeyError:
            raise KeyError(f"clone {clone_id} is not in the pool") from None

    def remove(self, clone_id: int) -> Clone:
        """Take a clone out (it left the world, or died); returns it with its mood synced."""
        i = self._row_of(clone_id)
        clone = self._sync_row(i)
        last = self._n - 1
        self._member_cache.pop(int(self._cols["zone"][i]), None)
        self._member_cache.pop(int(self._cols["zone"][last]), None)
        if i != last:
            for name, _, _ in _COLUMNS:
                self._cols[name][i] = self._cols[name][last]
            self._clones[i] = self._clones[last]
            self._orders[i] = self._orders[last]
            self._row[self._clones[i].id] = i
        self._clones.pop()
        self._orders.pop()
        del self._row[clone_id]
        self.speech.forget(clone_id)
        self._started.pop(clone_id, None)
        self._n -= 1
        return clone

    def move(
        self,
        clone_id: int,
        *,
        zone: ZoneKey | None = None,
        ship: int | None = None,
        stance: Stance | None = None,
    ) -> None:
        """The clone's ship jumped (new zone), or the clone changed ship or stance."""
        i = self._row_of(clone_id)
        if zone is not None:
            self._member_cache.pop(int(self._cols["zone"][i]), None)
            self._cols["zone"][i] = self._zone(zone)
            self._member_cache.pop(int(self._cols["zone"][i]), None)
            self._cols["dest"][i] = NONE
            self._cols["hop"][i] = NONE
        if ship is not None:
            self._cols["ship"][i] = ship
        if stance is not None:
            self._cols["stance"][i] = int(stance)

    def set_plan(
        self,
        clone_id: int,
        *,
        dest: int | None = None,
        hop: int | None = None,
        wary: float | None = None,
    ) -> None:
        """What the route planner decided for an NPC (`planner.py`), for its decisions in a
        zone: `dest` the station slot to fly to (-1: none), `hop` the index of the jump link
        to take next (-1: none), `wary` how dangerous it believes this system is (0..1)."""
        i = self._row_of(clone_id)
        c = self._cols
        if dest is not None:
            c["dest"][i] = dest
        if hop is not None:
            c["hop"][i] = hop
        if wary is not None:
            c["wary"][i] = min(1.0, max(0.0, wary))

    def aboard(self, ship: int) -> list[int]:
        """Clone ids of the agents aboard `ship`."""
        rows = np.flatnonzero(self._cols["ship"][: self._n] == ship)
        return [int(self._cols["clone_id"][r]) for r in rows]

    def kill(self, clone_id: int, tick: int, cause: str) -> Clone:
        """The clone dies for good: removed from the pool and returned as an archive."""
        clone = self.remove(clone_id)
        clone.die(tick, cause)
        return clone

    # events and orders -------------------------------------------------------------------

    def notice(self, clone_id: int, event: SeenEvent, *, me: int | None = None) -> None:
        """The clone perceives `event`: a memory, relationships, and for an attack on us the
        mood, the attacker column and an immediate thought. `me`: the actor id that counts as
        "us" besides the clone (a crew's captain); defaults to the ship id check."""
        i = self._row_of(clone_id)
        clone = self._clones[i]
        ship = int(self._cols["ship"][i])
        notice(clone, event, me=me, ship=ship, names=self.names)
        self._noticed.add(clone.id)
        if event.kind in ("attacked", "destroyed") and event.target in us_of(
            clone, me=me, ship=ship
        ):
            c = self._cols
            c["last_attacker"][i] = event.actor
            c["attacked_tick"][i] = event.tick
            c["woken"][i] = True
            c["mood"][i] = jolt(c["mood"][i : i + 1], c["personality"][i : i + 1], event.kind)[0]
        elif event.kind in ("said", "order"):
            self._cols["woken"][i] = True
        self._cols["hostile"][i] = hostile_slots(clone, self._order_target(i))

    def notice_ship(self, ship: int, event: SeenEvent, *, me: int | None = None) -> list[int]:
        """Every agent aboard `ship` perceives `event` (an attack on the ship: target = ship id
        or its owner passed as `me`). Returns the clone ids told."""
        told = self.aboard(ship)
        for clone_id in told:
            self.notice(clone_id, event, me=me)
        return told

    def _order_target(self, i: int) -> int | None:
        o = self._orders[i]
        return o.target if o is not None else None

    def order(self, clone_id: int, order: Order) -> bool:
        """Give an order; returns False when it means nothing at this clone's station."""
        i = self._row_of(clone_id)
        mine = for_role(order, kind_allows(Kind(int(self._cols["kind"][i]))))
        if mine is None:
            return False
        self._orders[i] = mine
        self._cols["order"][i] = int(mine.action)
        self._cols["order_until"][i] = mine.until
        self._cols["woken"][i] = True
        self._cols["hostile"][i] = hostile_slots(self._clones[i], mine.target)
        return True

    def chat(
        self,
        clone_id: int,
        message: str,
        *,
        speaker: int,
        speaker_name: str = "",
        tick: int,
        captain: bool = True,
        holder: str | None = None,
    ) -> Reply:
        """A player talks to a clone (the default mind answers from its memories). An order
        from the `captain` ("dock", "attack #42", "hold fire") is applied at once: by this
        clone if its station can carry it out, else passed to the crewmate whose station can
        (and the reply says so), else refused as nobody aboard can (or as `holder`'s: the
        captain of a player's ship holds every station no crew member holds). An order the
        clone cannot carry out now (nothing to flee from, no station to dock at) is not
        acknowledged: the reply says why (it still holds, for when it can)."""
        clone = self.clone(clone_id)
        crew = self.crewmates(clone_id)
        reply = template_reply(
            clone,
            message,
            speaker=speaker,
            speaker_name=speaker_name,
            tick=tick,
            allow_orders=captain,
            crew=[(c.name, kind_of(c)) for c in crew],
            holder=holder,
            possible=self.possible(clone_id),
        )
        self.apply_reply(clone_id, reply)
        return reply

    def answer_order(
        self,
        clone_id: int,
        order: Order,
        *,
        speaker: int,
        speaker_name: str = "",
        tick: int,
        holder: str | None = None,
    ) -> str:
        """What the clone says to an order given with a button (`dialogue.answer_order`):
        an acknowledgement only when it can carry the order out now."""
        return answer_order(
            self.clone(clone_id),
            order,
            speaker=speaker,
            speaker_name=speaker_name,
            tick=tick,
            crew=[(c.name, kind_of(c)) for c in self.crewmates(clone_id)],
            holder=holder,
            possible=self.possible(clone_id),
        )

    def crewmates(self, clone_id: int) -> list[Clone]:
        """The other clones aboard the same ship."""
        ship = int(self._cols["ship"][self._row_of(clone_id)])
        return [self._clones[self._row[c]] for c in self.aboard(ship) if c != clone_id]

    def apply_reply(self, clone_id: int, reply: Reply) -> None:
        """After a reply made elsewhere (`LLMMind.reply`, off the tick): apply its order (or
        pass it to the crewmate whose station it is) and let the clone think about what was
        said."""
        i = self._row_of(clone_id)
        self._noticed.add(clone_id)
        self._cols["woken"][i] = True
        if reply.order is not None and not self.order(clone_id, reply.order):
            for mate in self.crewmates(clone_id):
                if self.order(mate.id, reply.order):
                    break

    def cancel_order(self, clone_id: int) -> None:
        i = self._row_of(clone_id)
        self._orders[i] = None
        self._cols["order"][i] = NONE
        self._cols["hostile"][i] = hostile_slots(self._clones[i])

    # thinking ----------------------------------------------------------------------------

    def _members(self, z: int) -> NDArray[np.intp]:
        rows = self._member_cache.get(z)
        if rows is None:
            rows = self._member_cache[z] = np.flatnonzero(self._cols["zone"][: self._n] == z)
        return rows

    def _plan(self, tick: int) -> tuple[list[int], set[int], NDArray[np.bool_]]:
        """(zones due this tick, the beating ones among them, the alert mask over agents)."""
        cad = self.cadence
        n = self._n
        c = self._cols
        zone_col = c["zone"][:n]
        alert = (tick - c["attacked_tick"][:n]) <= cad.alert_ticks
        beat = set(self._beats.get((-tick) % cad.near_every, ()))
        zones = set(beat)
        if alert.any():
            fighting = np.unique(zone_col[alert])
            due = fighting[(tick + self._zphase[fighting]) % cad.combat_every == 0]
            zones.update(due.tolist())
        woken = c["woken"][:n]
        if woken.any():
            zones.update(np.unique(zone_col[woken]).tolist())
        return sorted(zones), beat, alert

    def zones_due(self, tick: int) -> list[ZoneKey]:
        """Zones where someone may think this tick (their beat, a fight, a woken agent)."""
        return [self._zone_keys[z] for z in self._plan(tick)[0]]

    def step(self, tick: int, view_for: Callable[[ZoneKey], ZoneView | None]) -> list[Decision]:
        """Let the agents due at `tick` think. `view_for(zone)` gives the zone's view this tick,
        or None when it has no players / is not loaded (nobody there thinks)."""
        cad = self.cadence
        c = self._cols
        parts: list[ZonePart] = []
        senses: list[Senses] = []
        agent_rows: list[NDArray[np.intp]] = []
        start = 0
        zones = 0
        due_zones, beat_zones, alert = self._plan(tick)
        woken = c["woken"][: self._n]
        far_ratio = cad.far_every // cad.near_every
        for z in due_zones:
            members = self._members(z)
            if members.size == 0:
                continue
            view = view_for(self._zone_keys[z])
            if view is None or not view.has_players:
                woken[members] = False
                continue
            zones += 1
            ship_rows = view.rows_of(c["ship"][members])
            due = woken[members].copy()
            if (tick + int(self._zphase[z])) % cad.combat_every == 0:
                due |= alert[members]
            if z in beat_zones:
                safe = np.maximum(ship_rows, 0)
                px, py = view.x[safe], view.y[safe]
                d2 = (view.player_x[None, :] - px[:, None]) ** 2 + (
                    view.player_y[None, :] - py[:, None]
                ) ** 2
                near = d2.min(axis=1) <= cad.near_radius**2
                beat = (tick + int(self._zphase[z])) // cad.near_every
                due |= near | ((beat + c["phase"][members]) % far_ratio == 0)
            due &= ship_rows >= 0
            woken[members] = False
            if not due.any():
                continue
            rows = members[due]
            agents = AgentColumns(
                stance=c["stance"][rows],
                last_attacker=c["last_attacker"][rows],
                attacked_tick=c["attacked_tick"][rows],
                hostile=c["hostile"][rows],
                dest=c["dest"][rows],
                clone_id=c["clone_id"][rows],
            )
            senses.append(sense(view, ship_rows[due], agents))
            agent_rows.append(rows)
            parts.append(ZonePart(view, start, start + rows.size))
            start += rows.size
        if not senses:
            self.stats = StepStats(tick, zones, 0)
            return []
        rows = np.concatenate(agent_rows)
        s = replace(concat_senses(senses) if len(senses) > 1 else senses[0], tick=tick)
        expired = c["order_until"][rows] < tick
        if expired.any():
            for r in rows[expired & (c["order"][rows] >= 0)]:
                self._orders[int(r)] = None
                c["hostile"][r] = hostile_slots(self._clones[int(r)])
            c["order"][rows[expired]] = NONE
        last = c["thought_tick"][rows]
        idle = np.where(last == NEVER, 0, tick - last - self.cadence.far_every)
        if (idle > 0).any():  # time passed unthought (nobody watched): moods settled
            c["mood"][rows] = settle(c["mood"][rows], c["personality"][rows], idle)
        c["thought_tick"][rows] = tick
        traits = Traits(
            clone_id=c["clone_id"][rows],
            kind=c["kind"][rows],
            personality=c["personality"][rows],
            mood=c["mood"][rows],
            skills=c["skills"][rows],
            order=c["order"][rows],
            obedience=c["obedience"][rows],
            wary=c["wary"][rows],
            hop=c["hop"][rows],
        )
        u, ok = utilities(s, traits)
        best, best_u = choose(u, ok)
        decisions = make_decisions(
            s, traits, best, best_u, parts, last_action=c["last_action"][rows], names=self.names
        )
        c["possible"][rows] = (ok.astype(np.int32) << np.arange(ok.shape[1], dtype=np.int32)).sum(
            axis=1, dtype=np.int32
        )
        self._voice_lines(decisions, tick)
        c["mood"][rows] = feel(traits.mood, traits.personality, s)
        c["last_action"][rows] = best
        c["dest"][rows] = s.dest_slot
        self._maybe_reflect(rows, tick)
        self.stats = StepStats(tick, zones, int(rows.size))
        return decisions

    def _voice_lines(self, decisions: list[Decision], tick: int) -> None:
        """Choose what each clone says about its decision, at the source: "X is attacking us"
        becomes "X is firing back" when we fired on X first; a changed decision says the
        first wording the ship (its listeners) has not heard lately, and nothing at all when
        it gave the same news within the cool-down or has said every wording
        (`SpeechLog`)."""
        started = self._started
        for d in decisions:
            key = d.line
            if started and key.endswith("/attacked") and self._we_started(d.clone, tick):
                key = key.replace("/attacked", "/returning")
                d.line = key
                d.say = next(d.options(key))
            if not d.changed:
                continue
            pick = self.speech.pick(d.clone, d.ship, key, d.options(key), tick)
            if pick is None:
                d.changed = False
            else:
                d.say = pick

    def _we_started(self, clone_id: int, tick: int) -> bool:
        """Whether the one attacking this clone now is someone it (its ship) fired on first."""
        first = self._started.get(clone_id)
        if first is None:
            return False
        actor, when = first
        if tick - when > ENGAGEMENT_TICKS:
            del self._started[clone_id]
            return False
        r = self._row.get(clone_id)
        return r is not None and int(self._cols["last_attacker"][r]) == actor

    def struck(self, ship: int, victim: int, tick: int) -> None:
        """`ship` hit `victim` (an actor): for everyone aboard, if the victim had not attacked
        them lately, they started this fight (see `_voice_lines`)."""
        c = self._cols
        for clone_id in self.aboard(ship):
            r = self._row[clone_id]
            before = self._started.get(clone_id)
            if before is not None and before[0] == victim and tick - before[1] <= ENGAGEMENT_TICKS:
                self._started[clone_id] = (victim, tick)  # the same fight goes on
                continue
            returning = (
                int(c["last_attacker"][r]) == victim
                and tick - int(c["attacked_tick"][r]) <= ENGAGEMENT_TICKS
            )
            if not returning:
                self._started[clone_id] = (victim, tick)

    def possible(self, clone_id: int) -> frozenset[Action] | None:
        """What the clone could do when it last thought (None: it has not thought yet)."""
        bits = int(self._cols["possible"][self._row_of(clone_id)])
        if bits == -1:
            return None
        return frozenset(a for a in Action if bits >> int(a) & 1)

    def _maybe_reflect(self, rows: NDArray[np.intp], tick: int) -> None:
        """Thinking agents that noticed something since they last reflected may reflect."""
        if not self._noticed:
            return
        threshold = self.cadence.reflect_threshold
        thinking = set(rows.tolist())
        for clone_id in list(self._noticed):
            r = self._row.get(clone_id)
            if r is None:
                self._noticed.discard(clone_id)
                continue
            if r not in thinking:
                continue
            self._noticed.discard(clone_id)
            clone = self._clones[r]
            if clone.memory.importance_since_reflection >= threshold:
                reflect(clone, tick)
                self._cols["hostile"][r] = hostile_slots(clone, self._order_target(r))

    def last_action(self, clone_id: int) -> Action | None:
        a = int(self._cols["last_action"][self._row_of(clone_id)])
        return None if a < 0 else Action(a)
