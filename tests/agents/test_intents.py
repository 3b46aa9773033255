from __future__ import annotations

import math

from callister.agents import Action, Decision, Kind, Pose, steer, to_intents
from callister.protocol.intents import Dock, Fire, Input, Jump, Loot, Mine, Undock


def _d(action: Action, **kw: object) -> Decision:
    base: dict[str, object] = {
        "clone": 1001,
        "ship": 5,
        "tick": 0,
        "kind": Kind.PILOT,
        "action": action,
        "utility": 1.0,
        "say": "",
    }
    base.update(kw)
    return Decision(**base)  # type: ignore[arg-type]


def test_every_action_maps_to_player_intents() -> None:
    here = Pose(0.0, 0.0)
    assert to_intents(_d(Action.IDLE), here) == ()
    assert to_intents(_d(Action.SHIELDS, power="shields"), here) == ()
    assert to_intents(_d(Action.HOLD), here) == (Input(1001, 5, 0.0, 0.0, True),)
    assert to_intents(_d(Action.UNDOCK), here) == (Undock(1001, 5),)
    assert to_intents(_d(Action.JUMP, jump=(3, -4)), here) == (Jump(1001, 5, 3, -4),)
    fire = to_intents(_d(Action.FIRE, target=66, slot=0), here)
    assert fire == (Fire(1001, 5, 0, 66),)
    assert to_intents(_d(Action.FIRE, target=66, slot=-1), here) == ()
    near_rock = to_intents(_d(Action.MINE, target=3, x=50.0, y=0.0, reach=150.0), here)
    assert near_rock == (Mine(1001, 5, 3),)
    far_rock = to_intents(_d(Action.MINE, target=3, x=5000.0, y=0.0, reach=150.0), here)
    assert isinstance(far_rock[0], Input) and far_rock[0].thrust == 1.0
    assert to_intents(_d(Action.LOOT, target=77, x=10.0, reach=150.0), here) == (Loot(1001, 5, 77),)
    dock = to_intents(_d(Action.DOCK, target=2, x=100.0, reach=400.0), here)
    assert dock == (Dock(1001, 5, 2),)
    fast = Pose(0.0, 0.0, vx=100.0)
    assert isinstance(to_intents(_d(Action.DOCK, target=2, x=100.0, reach=400.0), fast)[0], Input)
    fight = to_intents(_d(Action.DEFEND, target=66, x=500.0, reach=1000.0, slot=0), here)
    assert isinstance(fight[0], Input) and fight[1] == Fire(1001, 5, 0, 66)
    assert to_intents(_d(Action.FLEE, x=-5000.0), here)[0].thrust == 0.0  # turning around first
    assert to_intents(_d(Action.FLEE, x=5000.0), here)[0] == Input(1001, 5, 1.0, 0.0, False)
    assert to_intents(_d(Action.IDLE), here, actor=9) == ()
    assert to_intents(_d(Action.UNDOCK), here, actor=9) == (Undock(9, 5),)


def test_steering_turns_towards_and_brakes_to_arrive() -> None:
    left = steer(1, 5, Pose(0.0, 0.0, angle=0.0), 0.0, 1000.0)
    assert left.turn == 1.0 and left.thrust == 0.0  # 90 degrees off: turn first
    ahead = steer(1, 5, Pose(0.0, 0.0, angle=math.pi / 2), 0.0, 1000.0)
    assert ahead.thrust == 1.0 and abs(ahead.turn) < 1e-6
    arriving = steer(
        1, 5, Pose(0.0, 950.0, vy=200.0, angle=math.pi / 2), 0.0, 1000.0, stop_within=30
    )
    assert arriving.brake
