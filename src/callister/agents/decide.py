"""Utility-based decisions for many agents at once (the default mind's core).

For k agents, `utilities` builds a k x A matrix: one column per `Action`, each a response curve
of the agent's senses (hull, threat balance, distances ...) weighted by its personality (Big
Five), mood and skills, plus a little seeded noise, plus a bonus for the captain's order. A
per-kind table says which actions a kind may take at all (a gunner only fires or waits), and
the senses say which are possible now (no docking without a station). The best allowed, possible
action wins. Everything is whole-array numpy; the Python loop in `make_decisions` only fills in
targets and the sentence the crew says.

Noise is a counter-based hash of (clone id, tick, action) (splitmix64), so the same clone in
the same situation at the same tick decides the same, in a batch of 10,000 or alone, on any
machine: replays are exact. `clone_rng` gives a numpy Generator seeded the same way for work
off the hot path (dialogue).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.agents.model import Clone, Goal, Role
from callister.agents.observe import (
    NONE,
    THREAT_RANGE,
    Senses,
    ZoneView,
)


class Action(IntEnum):
    IDLE = 0  # carry on: no new intent (crew), nothing to do
    HOLD = 1  # brake and wait
    PATROL = 2  # fly a beat (patrols) or prowl (pirates)
    TRAVEL = 3  # fly to a station
    DOCK = 4  # approach a station and dock
    UNDOCK = 5
    JUMP = 6  # leave through a jump link
    FLEE = 7  # break off: run for a safe station or away from the threat
    DEFEND = 8  # turn on whoever attacks us (approach and fire)
    HUNT = 9  # pirates: attack a weak ship
    RESPOND = 10  # patrols: go after a criminal or to a crime
    FIRE = 11  # gunner: fire at whatever attacks the ship
    MINE = 12  # approach a rock and mine it
    LOOT = 13  # approach a wreck and take its contents
    SHIELDS = 14  # engineer: power to shields


N_ACTIONS: Final = len(Action)


class Kind(IntEnum):
    """What decides: a crew station, or an NPC captain with a goal."""

    PILOT = 0
    GUNNER = 1
    ENGINEER = 2
    MINER = 3
    TRADER = 4
    PROSPECTOR = 5  # NPC miner
    PIRATE = 6
    PATROL = 7


def kind_of(clone: Clone) -> Kind:
    goal = clone.goals.primary
    if goal is Goal.CREW:
        return {
            Role.PILOT: Kind.PILOT,
            Role.GUNNER: Kind.GUNNER,
            Role.ENGINEER: Kind.ENGINEER,
            Role.MINER: Kind.MINER,
        }[clone.role]
    return {
        Goal.TRADER: Kind.TRADER,
        Goal.HAULER: Kind.TRADER,
        Goal.MINER: Kind.PROSPECTOR,
        Goal.PIRATE: Kind.PIRATE,
        Goal.PATROL: Kind.PATROL,
    }[goal]


A = Action
_ALLOWED_BY_KIND: Final = {
    Kind.PILOT: (A.IDLE, A.HOLD, A.TRAVEL, A.DOCK, A.UNDOCK, A.FLEE, A.DEFEND),
    Kind.GUNNER: (A.IDLE, A.FIRE),
    Kind.ENGINEER: (A.IDLE, A.SHIELDS),
    Kind.MINER: (A.IDLE, A.MINE),
    Kind.TRADER: (A.HOLD, A.TRAVEL, A.DOCK, A.UNDOCK, A.JUMP, A.FLEE, A.DEFEND),
    Kind.PROSPECTOR: (A.HOLD, A.MINE, A.DOCK, A.UNDOCK, A.FLEE, A.DEFEND, A.LOOT),
    Kind.PIRATE: (A.HOLD, A.PATROL, A.HUNT, A.DEFEND, A.FLEE, A.LOOT, A.UNDOCK, A.JUMP),
    Kind.PATROL: (A.HOLD, A.PATROL, A.RESPOND, A.DEFEND, A.FLEE, A.DOCK, A.UNDOCK),
}
ALLOWED: Final = np.zeros((len(Kind), N_ACTIONS), bool)
for _k, _acts in _ALLOWED_BY_KIND.items():
    ALLOWED[_k, list(_acts)] = True
ALLOWED.flags.writeable = False

# plain ints for the hot path (enum attribute access is slow in CPython 3.11)
(
    _IDLE,
    _HOLD,
    _PATROL,
    _TRAVEL,
    _DOCK,
    _UNDOCK,
    _JUMP,
    _FLEE,
    _DEFEND,
    _HUNT,
    _RESPOND,
    _FIRE,
    _MINE,
    _LOOT,
    _SHIELDS,
) = (int(a) for a in Action)
(_K_PILOT, _K_GUNNER, _K_ENGINEER, _K_MINER, _K_TRADER, _K_PROSPECTOR, _K_PIRATE, _K_PATROL) = (
    int(k) for k in Kind
)

CREW_KINDS: Final = (Kind.PILOT, Kind.GUNNER, Kind.ENGINEER, Kind.MINER)
MINE_REACH: Final = 150.0  # m beyond a rock's radius where `Mine` is sent (the zone decides)
LOOT_REACH: Final = 150.0
NOISE: Final = 0.04  # + 0.06 x openness: how much whim moves a decision
ORDER_BONUS: Final = 1.5  # x obedience: a captain's order usually wins

# splitmix64 constants (as in universe/hashing.py; duplicated: agents may not import universe)
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_M1: Final = np.uint64(0xBF58476D1CE4E5B9)
_M2: Final = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _mix(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def hash_uniform(ids: NDArray[np.int64], tick: int, salts: int) -> NDArray[np.float64]:
    """A k x salts matrix of uniforms in [0, 1): a pure function of (id, tick, column)."""
    with np.errstate(over="ignore"):
        base = _mix(ids.astype(np.uint64) * _GOLDEN ^ np.uint64(tick & 0xFFFFFFFFFFFFFFFF))
        col = np.arange(1, salts + 1, dtype=np.uint64) * _GOLDEN
        z = _mix(base[:, None] + col[None, :])
    return (z >> _S11).astype(np.float64) * (1.0 / (1 << 53))


_MASK: Final = (1 << 64) - 1


def _mix_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def unit_hash(clone_id: int, tick: int, salt: int) -> float:
    """hash_uniform(clone_id, tick, salt)[salt - 1] in pure Python (one value, no arrays):
    a uniform number in [0, 1) that is a pure function of its arguments."""
    base = _mix_int(((clone_id * 0x9E3779B97F4A7C15) & _MASK) ^ (tick & _MASK))
    z = _mix_int((base + salt * 0x9E3779B97F4A7C15) & _MASK)
    return (z >> 11) * (1.0 / (1 << 53))


def clone_rng(clone_id: int, tick: int) -> np.random.Generator:
    """A numpy Generator seeded by (clone id, tick): the same clone at the same tick draws the
    same numbers (dialogue choices, reflection tie-breaks)."""
    return np.random.default_rng([clone_id & 0xFFFFFFFFFFFFFFFF, tick & 0xFFFFFFFFFFFFFFFF])


@dataclass(slots=True, eq=False)
class Traits:
    """The per-agent inputs of scoring besides senses (arrays of length k)."""

    clone_id: NDArray[np.int64]
    kind: NDArray[np.int8]
    personality: NDArray[np.float32]  # (k, 5): O, C, E, A, N
    mood: NDArray[np.float32]  # (k, 4): valence, arousal, fear, anger
    skills: NDArray[np.float32]  # (k, 4): pilot, gunner, engineer, miner
    order: NDArray[np.int8]  # ordered Action or -1
    obedience: NDArray[np.float32]
    wary: NDArray[np.float32]  # how dangerous the clone believes its system is (knowledge)
    hop: NDArray[np.int16]  # the planned jump: index into the zone's links, or -1

    def take(self, idx: NDArray[np.intp]) -> Traits:
        return Traits(*(getattr(self, f)[idx] for f in Traits.__slots__))


def _near(d: NDArray[np.float32], scale: float) -> NDArray[np.float32]:
    return np.clip(1.0 - d / np.float32(scale), 0.0, 1.0).astype(np.float32)


def fire_target(s: Senses) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """Whom a gunner fires at: whoever attacked us (if seen), else someone we hold hostile
    (reflection, or the captain's "attack X"), else the nearest threat while we are under
    attack. Row in the view (-1 none) and its distance."""
    att = s.attacker_row >= 0
    held = ~att & (s.held_row >= 0)
    rest = np.where(s.attacked > 0, s.threat_row, NONE)
    row = np.where(att, s.attacker_row, np.where(held, s.held_row, rest))
    dist = np.where(att, s.attacker_dist, np.where(held, s.held_dist, s.threat_dist))
    return row.astype(np.intp), dist.astype(np.float32)


def utilities(s: Senses, t: Traits) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """(k x A utilities, k x A mask of allowed-and-possible actions)."""
    k = len(s)
    Op, C, E, Ag, N = (t.personality[:, i] for i in range(5))
    valence, _arousal, fear, anger = (t.mood[:, i] for i in range(4))
    sp, sg, se, sm = (t.skills[:, i] for i in range(4))
    hull = s.hull
    kind = t.kind.astype(np.intp)
    has_threat = s.threat_row >= 0
    danger = np.maximum(s.attacked, _near(s.threat_dist, THREAT_RANGE) * has_threat)
    lost = np.clip(
        0.6 * np.clip((s.threat_ratio - 1.0) / 2.0, 0, 1)
        + 0.8 * np.clip((0.55 - hull) / 0.55, 0, 1),
        0,
        1,
    )
    fire_row, fire_dist = fire_target(s)
    npc = kind >= _K_TRADER
    u = np.zeros((k, N_ACTIONS), np.float32)
    u[:, _IDLE] = np.where(npc, 0.05, 0.25)
    u[:, _HOLD] = np.where(npc, 0.1, 0.0)
    u[:, _FLEE] = (
        danger * (0.2 + lost) * (0.7 + 0.6 * N + 0.6 * fear - 0.4 * anger + 0.2 * (1 - sp))
    )
    # a known enemy (held hostile: it attacked us before, or its reputation) close by while
    # it is not attacking yet: the timid get away before it starts, the bold stand their
    # ground (DEFEND below); fighters by trade (pirates, patrols) are not swayed
    known = (s.held_row >= 0) * _near(s.held_dist, THREAT_RANGE) * (s.attacked <= 0)
    timid = np.clip(1.2 * N + 0.5 * fear - 0.3 * anger - 0.3, 0, 1)
    wary_kind = (kind != _K_PIRATE) & (kind != _K_PATROL)
    u[:, _FLEE] += known * timid * 0.8 * wary_kind
    can_defend = (s.attacker_row >= 0) | has_threat
    u[:, _DEFEND] = (
        can_defend
        * danger
        * (1 - lost)
        * (0.55 + 0.4 * (1 - Ag) + 0.4 * anger - 0.3 * fear + 0.15 * C - 0.35 * (N - 0.5))
        * np.where(kind == _K_PILOT, np.maximum(s.attacked, 0.3), 1.0)
    )
    in_range = (fire_row >= 0) & (fire_dist <= s.weapon_range) & s.ready
    u[:, _FIRE] = in_range * (0.4 + 0.6 * danger) * (0.8 + 0.3 * (1 - Ag) + 0.3 * anger + 0.2 * sg)
    u[:, _SHIELDS] = (
        np.clip((0.7 - hull) / 0.5, 0, 1) * (0.5 + 0.5 * danger) * (0.8 + 0.3 * C + 0.2 * se)
    )
    calm = 1.0 - danger
    field_near = np.where(
        kind == _K_MINER, _near(s.field_dist, 1500.0), _near(s.field_dist, 30_000.0)
    )
    u[:, _MINE] = (
        (s.field_slot >= 0)
        * field_near
        * calm
        * (1 - s.cargo**3)
        * (0.6 + 0.3 * C + 0.2 * sm + 0.1 * valence)
    )
    is_trader = kind == _K_TRADER
    has_dest = s.dest_slot >= 0
    u[:, _TRAVEL] = (
        is_trader * has_dest * (s.dest_dist > 2000) * (0.5 + 0.2 * C) * (1 - 0.8 * danger)
    )
    damaged = np.clip((0.5 - hull) / 0.5, 0, 1) * (1 - 0.5 * danger) * 0.9
    trader_dock = is_trader * has_dest * (s.dest_dist <= 2000) * 0.8
    full = (kind == _K_PROSPECTOR) * np.clip(s.cargo, 0, 1) ** 2 * 0.9
    u[:, _DOCK] = np.maximum(np.maximum(damaged, trader_dock), full) * (kind != _K_PIRATE)
    leave = np.where(kind == _K_PROSPECTOR, s.cargo < 0.2, hull > 0.9)
    u[:, _UNDOCK] = s.docked * npc * leave * 0.6
    u[:, _PATROL] = np.where(
        kind == _K_PATROL,
        0.35 * (0.7 + 0.5 * C),
        np.where(kind == _K_PIRATE, 0.3 * (0.6 + 0.4 * Op), 0.0),
    )
    u[:, _HUNT] = (
        (s.prey_row >= 0)
        * np.sqrt(s.prey_weakness)
        * np.sqrt(_near(s.prey_dist, 8000.0))
        * hull
        * (1 - lost)
        * (0.5 + 0.5 * (1 - Ag) + 0.3 * E + 0.3 * anger)
    )
    crim = (s.criminal_row >= 0) * _near(s.criminal_dist, 8000.0)
    crime = (s.crime_slot >= 0) * _near(s.crime_dist, 8000.0) * 0.8
    u[:, _RESPOND] = np.maximum(crim, crime) * (0.7 + 0.4 * C + 0.2 * (1 - N)) * (0.5 + 0.5 * hull)
    loot_taste = np.where(kind == _K_PIRATE, 0.7, 0.45) + 0.2 * (1 - C)
    u[:, _LOOT] = (
        (s.wreck_slot >= 0) * _near(s.wreck_dist, 4000.0) * calm * (1 - s.cargo) * loot_taste
    )
    # beliefs: a system held dangerous drives the peaceful away (more so the neurotic), and a
    # planned jump (the route planner's next hop) wins over wandering within the system
    peaceful = (kind == _K_TRADER) | (kind == _K_PROSPECTOR)
    leave = peaceful * t.wary * (0.5 + 0.6 * N)
    planned = (t.hop >= 0) & npc
    u[:, _JUMP] = (
        s.has_link * 0.06 * (0.5 + Op)
        + (kind == _K_PIRATE) * (s.prey_row < 0) * 0.04
        + leave * (1 - danger)
        + planned * 0.7 * (1 - 0.8 * danger)
    )
    u[:, _TRAVEL] *= ~planned
    u[:, _MINE] *= 1.0 - 0.5 * leave
    # what is possible now
    ok = np.ones((k, N_ACTIONS), bool)
    docked = s.docked
    ok[docked] = False
    ok[docked, _IDLE] = True
    ok[docked, _UNDOCK] = True
    ok[:, _UNDOCK] &= docked
    ok[:, _DOCK] &= s.station_slot >= 0
    ok[:, _TRAVEL] &= has_dest
    ok[:, _FLEE] &= danger > 0
    ok[:, _DEFEND] &= can_defend & (danger > 0)
    ok[:, _HUNT] &= s.prey_row >= 0
    ok[:, _RESPOND] &= (s.criminal_row >= 0) | (s.crime_slot >= 0)
    ok[:, _FIRE] &= in_range
    ok[:, _MINE] &= s.rock_slot >= 0
    ok[:, _LOOT] &= s.wreck_slot >= 0
    ok[:, _JUMP] &= s.has_link
    ok &= ALLOWED[kind]
    # whim and orders
    noise = hash_uniform(t.clone_id, s.tick, N_ACTIONS).astype(np.float32)
    u += (NOISE + 0.06 * Op)[:, None] * noise
    ordered = t.order >= 0
    if ordered.any():
        rows = np.flatnonzero(ordered)
        u[rows, t.order[rows].astype(np.intp)] += ORDER_BONUS * t.obedience[rows]
    return u, ok


def choose(
    u: NDArray[np.float32], ok: NDArray[np.bool_]
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """The best possible action per agent and its utility (IDLE is always possible)."""
    masked = np.where(ok, u, np.float32(-np.inf))
    best = masked.argmax(axis=1)
    return best.astype(np.intp), masked[np.arange(u.shape[0]), best]


def feel(
    mood: NDArray[np.float32], personality: NDArray[np.float32], s: Senses
) -> NDArray[np.float32]:
    """The mood after a moment of thought: fear grows with a losing fight (more for neurotics),
    anger with being attacked (more for the disagreeable); both fade; valence drifts to the
    personality's baseline and drops under threat."""
    E, Ag, N = personality[:, 2], personality[:, 3], personality[:, 4]
    valence, arousal, fear, anger = (mood[:, i] for i in range(4))
    danger = np.maximum(s.attacked, _near(s.threat_dist, THREAT_RANGE) * (s.threat_row >= 0))
    lost = np.clip((s.threat_ratio - 1.0) / 2.0 + np.clip((0.55 - s.hull) / 0.55, 0, 1), 0, 1)
    base = 0.3 * (E - 0.5) - 0.4 * (N - 0.5) + 0.1
    out = np.empty_like(mood)
    out[:, 0] = np.clip(valence + 0.1 * (base - valence) - 0.1 * danger, -1, 1)
    out[:, 1] = np.clip(0.8 * arousal + 0.2 * danger, 0, 1)
    out[:, 2] = np.clip(0.85 * fear + 0.3 * danger * lost * (0.5 + N), 0, 1)
    out[:, 3] = np.clip(0.85 * anger + 0.25 * s.attacked * (1.2 - Ag), 0, 1)
    return out.astype(np.float32)


MOOD_HALF_LIFE: Final = 1200  # ticks (a minute): how fast fear, anger and arousal fade


def settle(
    mood: NDArray[np.float32], personality: NDArray[np.float32], elapsed: NDArray[np.int64]
) -> NDArray[np.float32]:
    """The mood after `elapsed` ticks without a thought (a clone in a system nobody watched
    does not think, but time passes for it): fear, anger and arousal fade with
    MOOD_HALF_LIFE, valence returns towards the personality's baseline."""
    keep = np.exp2(-np.maximum(elapsed, 0).astype(np.float32) / np.float32(MOOD_HALF_LIFE))
    E, N = personality[:, 2], personality[:, 4]
    base = 0.3 * (E - 0.5) - 0.4 * (N - 0.5) + 0.1
    out = mood.copy()
    out[:, 0] = base + (mood[:, 0] - base) * keep
    out[:, 1:] = mood[:, 1:] * keep[:, None]
    return out.astype(np.float32)


# --- decisions ------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~9x more to build, per decision
class Decision:
    """What one agent decided at `tick`, and why (`say`, for the ship's chat).

    `target`: a ship or wreck entity id (DEFEND, HUNT, RESPOND, FIRE, LOOT), a station index
    (DOCK, TRAVEL), a rock index (MINE), or -1. `x, y`: where to steer (the target's position
    when decided; a flee point; a patrol waypoint). `reach`: act (dock, mine, loot, fire) once
    within this distance. `slot`: weapon slot to fire (-1: do not fire). `jump`: sector for
    JUMP. `power`: "shields" for SHIELDS. `changed`: the action differs from the agent's last
    one (post `say` to chat only then, so crews do not chatter). Treat it as immutable."""

    clone: int
    ship: int
    tick: int
    kind: Kind
    action: Action
    utility: float
    say: str
    target: int = NONE
    x: float = 0.0
    y: float = 0.0
    reach: float = 0.0
    slot: int = NONE
    jump: tuple[int, int] | None = None
    power: str | None = None
    changed: bool = True
    line: str = ""  # the key of the sentence (`_LINES`): "FLEE/hurt", "DEFEND/attacked" ...
    words: dict[str, object] | None = None  # what fills it: names, numbers, and the voice

    def options(self, line: str | None = None) -> Iterator[str]:
        """Every way this clone may say its decision (its voice's line first, then the
        alternatives), for `line` (default: its own key), lazily. The pool takes the first
        one the listener has not heard lately (`speech.SpeechLog`)."""
        key = line or self.line
        if not key or self.words is None:
            return iter((self.say,))
        return lines_for(key, self.words)


def _pct(v: float) -> int:
    return int(100.0 * (0.0 if v < 0.0 else 1.0 if v > 1.0 else v) + 0.5)


_VOICES: Final = ("plain", "nervous", "gruff", "terse")


def voices(p: NDArray[np.float32]) -> NDArray[np.intp]:
    """Index into _VOICES per agent from O C E A N: nervous (N >= 0.65), gruff (A <= 0.35),
    terse (E <= 0.35), else plain."""
    return np.select(
        [p[:, 4] >= 0.65, p[:, 3] <= 0.35, p[:, 2] <= 0.35], [1, 2, 3], default=0
    ).astype(np.intp)


# What a clone says about a decision, by voice. Several actions have variants (key
# "ACTION/variant") chosen by what is true: "X is on us" only when X is attacking us, "they
# outgun us" only when they do; places are named, never numbered (ZoneStatics names).
_LINES: Final[dict[str, dict[str, str]]] = {
    "FLEE/outgunned": {
        "plain": "Hull at {hull}% and they outgun us {ratio}:1 - breaking off toward {where}.",
        "nervous": "We can't win this! Hull {hull}%, {ratio}:1 against us - running for {where}!",
        "gruff": "This fight's lost ({ratio}:1, hull {hull}%). Pulling out to {where}.",
        "terse": "Hull {hull}%. Outgunned {ratio}:1. Running: {where}.",
    },
    "FLEE/hurt": {
        "plain": "Hull at {hull}% - breaking off toward {where}.",
        "nervous": "Hull {hull}%! We have to get out - running for {where}!",
        "gruff": "Hull {hull}%. Not worth dying for. Pulling out to {where}.",
        "terse": "Hull {hull}%. Running: {where}.",
    },
    "FLEE/wary": {
        "plain": "{target} is close and I don't trust them - getting clear toward {where}.",
        "nervous": "That's {target}... I'm not waiting for them to start - heading for {where}.",
        "gruff": "{target} again. Not today - moving off to {where}.",
        "terse": "{target} near. Leaving: {where}.",
    },
    "DEFEND/attacked": {
        "plain": "{target} is on us - turning to engage.",
        "nervous": "{target} is shooting at us! Turning to fight - hold on!",
        "gruff": "{target} wants a fight. They'll get one.",
        "terse": "Engaging {target}.",
    },
    "DEFEND/enemy": {
        "plain": "{target} is a known enemy - turning to face them.",
        "nervous": "{target} is back... turning to face them.",
        "gruff": "{target}. I remember you. Coming about.",
        "terse": "Facing {target}.",
    },
    "FIRE/attacked": {
        "plain": "Firing on {target}, who is attacking the ship.",
        "nervous": "Firing at {target}! They're attacking us!",
        "gruff": "{target} fired first. Returning fire.",
        "terse": "Firing: {target}.",
    },
    "FIRE/enemy": {
        "plain": "Firing on {target}.",
        "nervous": "Firing at {target}!",
        "gruff": "{target} is in my sights. Firing.",
        "terse": "Firing: {target}.",
    },
    "SHIELDS": {
        "plain": "Hull at {hull}% - shifting power to shields.",
        "nervous": "Hull's at {hull}%! All power to shields!",
        "gruff": "Hull {hull}%. Shields get the power now.",
        "terse": "Power to shields. Hull {hull}%.",
    },
    "MINE": {
        "plain": "Quiet out here and the field is close - mining.",
        "nervous": "Nobody around... starting on the rocks.",
        "gruff": "Ore won't dig itself.",
        "terse": "Mining.",
    },
    "HUNT": {
        "plain": "{target} looks weak ({their}% hull). Moving in.",
        "nervous": "{target} looks like easy prey... going in.",
        "gruff": "{target} is easy pickings. Take them.",
        "terse": "Target: {target}.",
    },
    "RESPOND": {
        "plain": "Answering a crime: going after {target}.",
        "nervous": "Crime reported - moving to {target}, carefully.",
        "gruff": "{target} broke the law. Going after them.",
        "terse": "Responding: {target}.",
    },
    "DOCK": {
        "plain": "Docking at {station} ({why}).",
        "nervous": "Let's get inside {station} ({why}).",
        "gruff": "{station}. Docking ({why}).",
        "terse": "Docking: {station}.",
    },
    "TRAVEL/cargo": {
        "plain": "Carrying goods to {station}, {dist} km out.",
        "nervous": "Heading for {station} with the cargo, {dist} km. Eyes open.",
        "gruff": "Cargo for {station}. {dist} km.",
        "terse": "To {station}.",
    },
    "TRAVEL/empty": {
        "plain": "Heading for {station}, {dist} km out.",
        "nervous": "Heading for {station}, {dist} km. Eyes open.",
        "gruff": "{station}. {dist} km.",
        "terse": "To {station}.",
    },
    "UNDOCK": {
        "plain": "Undocking - back to work.",
        "nervous": "Undocking... here we go again.",
        "gruff": "Undocking.",
        "terse": "Undocking.",
    },
    "PATROL": {
        "plain": "Flying the beat near {where}.",
        "nervous": "Patrolling near {where}.",
        "gruff": "On the prowl near {where}.",
        "terse": "Patrol: {where}.",
    },
    "LOOT": {
        "plain": "There's a wreck nearby - collecting what's in it.",
        "nervous": "A wreck... let's grab what's there, quickly.",
        "gruff": "Wreck. Strip it.",
        "terse": "Looting wreck.",
    },
    "JUMP": {
        "plain": "Nothing for us here - jumping to {where}.",
        "nervous": "Let's try somewhere else: jumping to {where}.",
        "gruff": "This system's dry. Jumping to {where}.",
        "terse": "Jumping: {where}.",
    },
    "HOLD": {
        "plain": "Holding position.",
        "nervous": "Holding position... for now.",
        "gruff": "Holding.",
        "terse": "Holding.",
    },
    "IDLE": {
        "plain": "All quiet at my station.",
        "nervous": "All quiet. Too quiet.",
        "gruff": "Nothing doing.",
        "terse": "Standing by.",
    },
}


# Other ways to say the same thing, in any voice: a clone that must say it again (after the
# listener's cool-down, `speech.SpeechLog`) says it differently.
_ALTERNATES: Final[dict[str, tuple[str, ...]]] = {
    "FLEE/outgunned": (
        "They have us {ratio}:1 and the hull is at {hull}% - making for {where}.",
        "We're outmatched ({ratio}:1). Heading for {where} while we still can.",
    ),
    "FLEE/hurt": (
        "We're down to {hull}% hull. Making for {where}.",
        "Can't take much more at {hull}% - heading for {where}.",
    ),
    "FLEE/wary": (
        "{target} is about and I'd rather not meet them - heading for {where}.",
        "Keeping clear of {target}: making for {where}.",
    ),
    "DEFEND/attacked": (
        "{target} opened fire on us - coming about to answer.",
        "Under fire from {target}. Turning into them.",
    ),
    "DEFEND/returning": (
        "{target} is fighting back - pressing the attack.",
        "{target} returns fire. Staying on them.",
    ),
    "DEFEND/enemy": (
        "{target} is near and I know what they are - facing them.",
        "Turning to keep {target} in front of us.",
    ),
    "FIRE/attacked": (
        "{target} is shooting at us - answering in kind.",
        "Returning fire on {target}.",
    ),
    "FIRE/returning": (
        "{target} is firing back now - keeping on them.",
        "Still on {target}; they're answering our fire.",
    ),
    "FIRE/enemy": ("Guns on {target}.", "{target} in range - firing."),
    "SHIELDS": (
        "Shields get the power: hull is at {hull}%.",
        "Routing power to the shields, hull {hull}%.",
    ),
    "MINE": ("The field is right here - starting to mine.", "Cutting ore while it's quiet."),
    "HUNT": ("{target} is limping at {their}% - closing in.", "Going after {target}."),
    "RESPOND": ("On our way to {target}.", "Moving on {target}: the law's the law."),
    "DOCK": ("Bringing us in to {station} ({why}).", "Requesting a berth at {station} ({why})."),
    "TRAVEL/cargo": (
        "Taking the goods to {station}, {dist} km to go.",
        "{dist} km to {station} with the cargo.",
    ),
    "TRAVEL/empty": ("On the way to {station}, {dist} km.", "{dist} km to {station}."),
    "UNDOCK": ("Casting off.", "Clear of the berth - out we go."),
    "PATROL": ("Keeping watch around {where}.", "Making the rounds near {where}."),
    "LOOT": ("Picking through a wreck nearby.", "Salvage nearby - going to take it."),
    "JUMP": ("Setting the jump for {where}.", "We're done here. Next stop: {where}."),
    "HOLD": ("Keeping us where we are.", "Station-keeping."),
    "IDLE": ("Nothing to report.", "Quiet here."),
}
_LINES["DEFEND/returning"] = {
    "plain": "{target} is firing back - staying on them.",
    "nervous": "{target} is shooting back! Keep at them!",
    "gruff": "{target} bites back. Doesn't matter.",
    "terse": "Engaging {target}.",
}
_LINES["FIRE/returning"] = {
    "plain": "Firing on {target}; they're firing back.",
    "nervous": "Firing at {target} - they're shooting back!",
    "gruff": "{target} fights back. Keep firing.",
    "terse": "Firing: {target}.",
}


def lines_for(key: str, words: dict[str, object]) -> Iterator[str]:
    """The ways to say line `key` with `words` (which holds the voice), lazily: the voice's
    own line first, then the alternatives (formatted only if asked for)."""
    voice = str(words.get("voice", "plain"))
    yield _LINES[key][voice].format(**words)
    for alt in _ALTERNATES.get(key, ()):
        yield alt.format(**words)


def _line(
    action: Action, voice: str, variant: str = "", **ctx: object
) -> tuple[str, str, dict[str, object]]:
    """(the voice's sentence, its key, the words that fill it, voice included)."""
    key = f"{action.name}/{variant}" if variant else action.name
    ctx["voice"] = voice
    return _LINES[key][voice].format(**ctx), key, ctx


@dataclass(slots=True, eq=False)
class ZonePart:
    """A slice [start, stop) of a batch of senses that belongs to one zone's view."""

    view: ZoneView
    start: int
    stop: int


def make_decisions(
    s: Senses,
    t: Traits,
    best: NDArray[np.intp],
    best_u: NDArray[np.float32],
    parts: Sequence[ZonePart],
    *,
    last_action: NDArray[np.int8] | None = None,
    names: dict[int, str] | None = None,
) -> list[Decision]:
    """Targets, steering points and sentences for the chosen actions (one per agent)."""
    names = names or {}
    fire_row, _ = fire_target(s)
    col = {
        name: getattr(s, name).tolist()
        for name in (
            "row",
            "x",
            "y",
            "hull",
            "cargo",
            "ready",
            "weapon_range",
            "threat_row",
            "threat_ratio",
            "attacked",
            "attacker_row",
            "prey_row",
            "criminal_row",
            "crime_slot",
            "station_slot",
            "dest_slot",
            "dest_dist",
            "wreck_slot",
            "rock_slot",
        )
    }
    col["fire_row"] = fire_row.tolist()
    col["voice"] = voices(t.personality).tolist()
    col["clone_id"] = t.clone_id.tolist()
    col["hop"] = t.hop.tolist()
    col["kind"] = t.kind.tolist()
    col["best"] = best.tolist()
    col["best_u"] = best_u.tolist()
    col["last"] = last_action.tolist() if last_action is not None else [NONE] * len(s)
    out: list[Decision] = []
    for part in parts:
        view = part.view
        for i in range(part.start, part.stop):
            out.append(_decision(i, view, s.tick, col, names))
    return out


_ACTIONS: Final = tuple(Action)
_KINDS: Final = tuple(Kind)


def _who(view: ZoneView, row: int, names: dict[int, str]) -> str:
    name = names.get(int(view.owner[row]))
    return name if name else "an unknown ship"


def _decision(
    i: int, view: ZoneView, tick: int, col: dict[str, list], names: dict[int, str]
) -> Decision:
    statics = view.statics
    action = _ACTIONS[col["best"][i]]
    row = col["row"][i]
    me_x, me_y = col["x"][i], col["y"][i]
    voice = _VOICES[col["voice"][i]]
    clone_id = col["clone_id"][i]
    kind = _KINDS[col["kind"][i]]
    ship = int(view.ids[row])
    target, x, y, reach, slot = NONE, me_x, me_y, 0.0, NONE
    jump: tuple[int, int] | None = None
    power: str | None = None
    hull = _pct(col["hull"][i])
    if action is A.FLEE:
        trow = col["threat_row"][i] if col["threat_row"][i] >= 0 else col["attacker_row"][i]
        tx, ty = (float(view.x[trow]), float(view.y[trow])) if trow >= 0 else (me_x, me_y)
        where = "open space"
        if kind != Kind.PIRATE:
            # the nearest lawful station that is farther from the threat than from us
            best = math.inf
            for j in range(statics.station_x.size):
                if not statics.station_lawful[j]:
                    continue
                sx, sy = float(statics.station_x[j]), float(statics.station_y[j])
                mine = math.hypot(sx - me_x, sy - me_y)
                if math.hypot(sx - tx, sy - ty) > mine and mine < best:
                    best = mine
                    x, y, target = sx, sy, int(statics.station_index[j])
                    reach = float(statics.station_dock_r[j])
            if target != NONE:
                where = statics.name_of(target)
        if target == NONE:
            ang = math.atan2(me_y - ty, me_x - tx) if trow >= 0 else 0.0
            x, y = me_x + 5000.0 * math.cos(ang), me_y + 5000.0 * math.sin(ang)
        ratio = col["threat_ratio"][i]
        if ratio > 1.05:
            variant = "outgunned"
        elif col["hull"][i] < 0.55 or trow < 0:
            variant = "hurt"
        else:
            variant = "wary"  # a known enemy near: we leave before it starts
        who = _who(view, trow, names) if trow >= 0 else "someone"
        say, line, words = _line(
            action, voice, variant, hull=hull, ratio=f"{ratio:.1f}", where=where, target=who
        )
    elif action is A.DEFEND or action is A.HUNT or action is A.RESPOND or action is A.FIRE:
        if action is A.DEFEND:
            trow = col["attacker_row"][i] if col["attacker_row"][i] >= 0 else col["threat_row"][i]
        elif action is A.HUNT:
            trow = col["prey_row"][i]
        elif action is A.RESPOND:
            trow = col["criminal_row"][i]
        else:
            trow = col["fire_row"][i]
        if trow >= 0:
            target = int(view.ids[trow])
            x, y = float(view.x[trow]), float(view.y[trow])
            dist = math.hypot(x - me_x, y - me_y)
            who = _who(view, trow, names)
            their = _pct(float(view.hull[trow]))
        else:  # a crime scene without a visible criminal
            c = col["crime_slot"][i]
            x, y = float(view.crime_x[c]), float(view.crime_y[c])
            dist = math.hypot(x - me_x, y - me_y)
            who = f"the crime scene {dist / 1000:.1f} km out"
            their = 100
        reach = col["weapon_range"][i]
        if col["ready"][i] and trow >= 0 and (action is A.FIRE or dist <= reach):
            slot = 0
        variant = ""
        if action is A.DEFEND or action is A.FIRE:  # "attacking us" only when they are
            attacking = trow >= 0 and trow == col["attacker_row"][i] and col["attacked"][i] > 0
            variant = "attacked" if attacking else "enemy"
        say, line, words = _line(action, voice, variant, target=who, their=their)
    elif action is A.DOCK or action is A.TRAVEL:
        if action is A.TRAVEL or (kind == Kind.TRADER and col["dest_dist"][i] <= 2000):
            sslot = col["dest_slot"][i]
        else:
            sslot = col["station_slot"][i]
        target = int(statics.station_index[sslot])
        x, y = float(statics.station_x[sslot]), float(statics.station_y[sslot])
        reach = float(statics.station_dock_r[sslot])
        if kind == Kind.TRADER:
            why = "trade"
        elif kind == Kind.PROSPECTOR and col["cargo"][i] >= 0.5:
            why = "hold full, selling ore"
        elif hull < 90:
            why = f"repairs, hull {hull}%"
        else:
            why = "a stop"
        dist = math.hypot(x - me_x, y - me_y) / 1000
        variant = ("cargo" if col["cargo"][i] > 0 else "empty") if action is A.TRAVEL else ""
        say, line, words = _line(
            action, voice, variant, station=statics.name_of(target), why=why, dist=f"{dist:.1f}"
        )
    elif action is A.MINE:
        target = col["rock_slot"][i]
        if target >= 0:
            x, y = float(statics.rock_x[target]), float(statics.rock_y[target])
            reach = float(statics.rock_r[target]) + MINE_REACH
        say, line, words = _line(action, voice)
    elif action is A.LOOT:
        w = col["wreck_slot"][i]
        target = int(view.wreck_ids[w])
        x, y = float(view.wreck_x[w]), float(view.wreck_y[w])
        reach = LOOT_REACH
        say, line, words = _line(action, voice)
    elif action is A.PATROL:
        sslot = col["station_slot"][i]
        if kind == Kind.PATROL and sslot >= 0:
            ang = ((clone_id % 1009) + tick // 600) * 1.3
            x = float(statics.station_x[sslot]) + 1500.0 * math.cos(ang)
            y = float(statics.station_y[sslot]) + 1500.0 * math.sin(ang)
            where = statics.name_of(int(statics.station_index[sslot]))
        else:
            u0, u1 = unit_hash(clone_id, tick // 1200, 1), unit_hash(clone_id, tick // 1200, 2)
            r = 0.8 * statics.radius * math.sqrt(u0)
            x, y = r * math.cos(2 * math.pi * u1), r * math.sin(2 * math.pi * u1)
            where = "the edge of the system" if u0 > 0.5 else "the inner system"
        say, line, words = _line(action, voice, where=where)
    elif action is A.JUMP:
        links = statics.links
        hop = col["hop"][i]
        jump = (
            links[hop] if 0 <= hop < len(links) else links[(clone_id + tick // 1200) % len(links)]
        )
        say, line, words = _line(action, voice, where=statics.link_name(jump))
    elif action is A.SHIELDS:
        power = "shields"
        say, line, words = _line(action, voice, hull=hull)
    else:
        say, line, words = _line(action, voice)
    return Decision(  # positional: this runs for every thinking agent
        clone_id,
        ship,
        tick,
        kind,
        action,
        round(col["best_u"][i], 4),
        say,
        target,
        x,
        y,
        reach,
        slot,
        jump,
        power,
        col["last"][i] != action,
        line,
        words,
    )
