"""Decision -> the protocol intents players send (`callister.protocol.intents`). Pure functions.

Agents are players without sockets: what they decide becomes the same `Input`, `Dock`,
`Undock`, `Jump`, `Fire`, `Mine` and `Loot` values a player's client produces, submitted to the
zone through the same validation (ownership, range, cooldown ...), refused the same way.

Movement decisions carry a point to steer to. `Input` controls are held by the zone until
replaced, and agents think about once a second, so the server should call `to_intents` again
every tick or two between thoughts with the ship's current `Pose` (and, for a moving target,
its current position): that is cheap (no scoring) and keeps the ship on course. The mapping
approaches first and acts (docks, mines, loots, fires) once within the decision's `reach`.
"""

from __future__ import annotations

import math
from typing import Final

from callister.agents.decide import Action, Decision
from callister.agents.observe import Pose
from callister.protocol.intents import Dock, Fire, Input, Intent, Jump, Loot, Mine, Undock

TURN_GAIN: Final = 0.6  # rad of heading error that gives a full-rate turn
ALIGNED: Final = 0.5  # rad: thrust only when the nose is this close to the heading
SLOW_ENOUGH: Final = 20.0  # m/s: docking, mining and looting want a slow ship (DOCK_MAX_SPEED-ish)
STANDOFF: Final = 0.6  # fraction of weapon range to hold from a target while fighting


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def steer(
    actor: int,
    ship: int,
    pose: Pose,
    tx: float,
    ty: float,
    *,
    stop_within: float = 0.0,
    full: bool = False,
) -> Input:
    """An `Input` that turns toward (tx, ty) and thrusts when aligned; it brakes to arrive
    within `stop_within` m (`full`: never brake, flat out, for fleeing)."""
    dx, dy = tx - pose.x, ty - pose.y
    dist = math.hypot(dx, dy)
    speed = math.hypot(pose.vx, pose.vy)
    if not full and dist <= stop_within:
        return Input(actor=actor, ship=ship, thrust=0.0, turn=0.0, brake=speed > 1.0)
    err = _wrap(math.atan2(dy, dx) - pose.angle)
    turn = max(-1.0, min(1.0, err / TURN_GAIN))
    braking_distance = speed * speed / (2.0 * max(pose.accel, 1e-3))
    if not full and dist - stop_within <= braking_distance:
        return Input(actor=actor, ship=ship, thrust=0.0, turn=turn, brake=True)
    thrust = 1.0 if abs(err) <= ALIGNED else 0.2 if abs(err) <= 2 * ALIGNED else 0.0
    return Input(actor=actor, ship=ship, thrust=thrust, turn=turn, brake=False)


def to_intents(
    decision: Decision,
    pose: Pose,
    *,
    actor: int | None = None,
    target_xy: tuple[float, float] | None = None,
) -> tuple[Intent, ...]:
    """The intents that carry out `decision` for a ship at `pose` now.

    `actor` defaults to the clone id (the server maps crews to their ship's authority);
    `target_xy` overrides the decision's steering point (a target that moved). Returns () for
    IDLE (carry on) and for SHIELDS, which has no protocol intent yet (`decision.power` says
    what the engineer wants; the server applies it to the ship's power distribution)."""
    a = decision.clone if actor is None else actor
    ship = decision.ship
    tx, ty = target_xy if target_xy is not None else (decision.x, decision.y)
    dist = math.hypot(tx - pose.x, ty - pose.y)
    speed = math.hypot(pose.vx, pose.vy)
    act = decision.action
    if act in (Action.IDLE, Action.SHIELDS):
        return ()
    if act is Action.HOLD:
        return (Input(actor=a, ship=ship, thrust=0.0, turn=0.0, brake=True),)
    if act is Action.UNDOCK:
        return (Undock(actor=a, ship=ship),)
    if act is Action.JUMP:
        if decision.jump is None:
            return ()
        return (Jump(actor=a, ship=ship, to_x=decision.jump[0], to_y=decision.jump[1]),)
    if act is Action.FIRE:
        if decision.slot < 0 or decision.target < 0:
            return ()
        return (Fire(actor=a, ship=ship, slot=decision.slot, target=decision.target),)
    if act is Action.FLEE:
        if decision.target >= 0 and decision.reach > 0 and dist <= decision.reach:
            if speed <= SLOW_ENOUGH:
                return (Dock(actor=a, ship=ship, station=decision.target),)
            return (steer(a, ship, pose, tx, ty, stop_within=decision.reach * 0.5),)
        return (steer(a, ship, pose, tx, ty, full=True),)
    if act in (Action.DEFEND, Action.HUNT, Action.RESPOND):
        move = steer(a, ship, pose, tx, ty, stop_within=decision.reach * STANDOFF)
        if decision.slot >= 0 and decision.target >= 0 and dist <= decision.reach:
            return (move, Fire(actor=a, ship=ship, slot=decision.slot, target=decision.target))
        return (move,)
    if act in (Action.DOCK, Action.TRAVEL):
        if act is Action.DOCK and dist <= decision.reach and speed <= SLOW_ENOUGH:
            return (Dock(actor=a, ship=ship, station=decision.target),)
        return (steer(a, ship, pose, tx, ty, stop_within=decision.reach * 0.5),)
    if act is Action.MINE:
        if decision.target < 0:
            return ()
        if dist <= decision.reach and speed <= SLOW_ENOUGH:
            return (Mine(actor=a, ship=ship, rock=decision.target),)
        return (steer(a, ship, pose, tx, ty, stop_within=decision.reach * 0.7),)
    if act is Action.LOOT:
        if dist <= decision.reach and speed <= SLOW_ENOUGH:
            return (Loot(actor=a, ship=ship, wreck=decision.target),)
        return (steer(a, ship, pose, tx, ty, stop_within=decision.reach * 0.5),)
    if act is Action.PATROL:
        return (steer(a, ship, pose, tx, ty, stop_within=200.0),)
    raise AssertionError(f"unmapped action {act!r}")
