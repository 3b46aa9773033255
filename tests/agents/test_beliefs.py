"""Beliefs from attacks: NPC attackers (negative actor ids) and attacks on a crew's ship count."""

from __future__ import annotations

from callister.agents import AgentPool, DefaultMind, Goal, Role, SeenEvent
from callister.agents.model import npc_actor
from callister.agents.reflection import reflect

from ._support import make_clone


def test_an_npc_attacking_an_npc_forms_a_belief() -> None:
    victim = make_clone(1001, goal=Goal.TRADER)
    pirate = npc_actor(2**61 + 5)  # NPC ships' owners (and actors) are -clone id
    mind = DefaultMind(names={pirate: "Rook Varga"})
    for t in (10, 20):
        mind.notice(victim, SeenEvent("attacked", t, actor=pirate, target=npc_actor(victim.id)))
    beliefs = reflect(victim, 30)
    assert [b.text for b in beliefs] == ["Rook Varga attacked us twice: Rook Varga is hostile."]
    rel = victim.relationships.get(pirate)
    assert rel is not None and rel.hostile and rel.attacks == 2


def test_an_npc_ship_attacked_through_the_pool_holds_its_attacker_hostile() -> None:
    pool = AgentPool(names={-77: "Rook Varga"})
    trader = make_clone(1002, goal=Goal.TRADER)
    pool.add(trader, ship=40, zone="z")
    for t in (10, 20, 30, 40):  # the server tells the ship: target = ship id, actor = -clone
        pool.notice_ship(40, SeenEvent("attacked", t, actor=-77, target=40))
    assert reflect(trader, 41) and trader.relationships.is_hostile(-77)


def test_attacks_on_a_crews_own_ship_count_as_attacks_on_us() -> None:
    pool = AgentPool(names={99: "Kato Lind"})
    gunner = make_clone(1003, role=Role.GUNNER)
    pool.add(gunner, ship=5, zone="z")
    for t in (10, 20):  # the captain (account 77) owns ship 5; the crew is told with me=77
        pool.notice_ship(5, SeenEvent("attacked", t, actor=99, target=5), me=77)
    events = [m.event for m in gunner.memory]
    assert events.count("attacked") == 2 and "attacked-other" not in events
    assert [b.text for b in reflect(gunner, 21)] == [
        "Kato Lind attacked us twice: Kato Lind is hostile."
    ]
    assert gunner.relationships.is_hostile(99)


def test_attacks_between_strangers_still_form_no_belief_about_us() -> None:
    clone = make_clone(1004, goal=Goal.MINER)
    mind = DefaultMind()
    for t in (10, 20, 30):
        mind.notice(clone, SeenEvent("attacked", t, actor=-50, target=-51), ship=9)
    assert reflect(clone, 40) == []
    assert [m.event for m in clone.memory][-1] == "attacked-other"
