"""Knowledge and gossip: provenance, decay, bounds, reputations, and surviving restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from callister.agents import AgentError, Clone, Goal
from callister.agents.clonefile import SigningKey, export_clone, import_clone
from callister.agents.gossip import gossip, partners
from callister.agents.knowledge import (
    MAX_ATTACKS,
    MAX_HOPS,
    MAX_MARKETS,
    PRICE_HALF_LIFE,
    SEEN,
    Knowledge,
)
from callister.agents.model import npc_actor
from callister.agents.reflection import reflect
from callister.agents.repository import JsonDirRepository

from ._support import make_clone

A, B = (3, 4, 0), (3, 5, 1)


def test_the_newest_price_wins_and_keeps_its_provenance() -> None:
    ines, sol = make_clone(1, name="Ines Lind"), make_clone(2, name="Sol Haas")
    ines.knowledge.saw_market(A, 100, {"food": 21}, {"food": 19})
    sol.knowledge.saw_market(A, 50, {"food": 30}, {"food": 28})  # older: replaced
    sol.knowledge.saw_market(B, 200, {"iron": 40}, {"iron": 36})
    gossip(ines, sol, 300)
    got = sol.knowledge.markets[A]
    assert (got.tick, got.source, got.hops, got.buy) == (100, npc_actor(1), 1, {"food": 21})
    assert ines.knowledge.markets[B].source == npc_actor(2)
    assert sol.knowledge.markets[B].source == SEEN  # what it saw itself stays its own
    # an older report never overwrites a newer one
    sol.knowledge.saw_market(A, 400, {"food": 25}, {"food": 23})
    gossip(ines, sol, 500)
    assert sol.knowledge.markets[A].tick == 400


def test_weight_decays_with_age_and_hops_and_old_prices_regress_to_base() -> None:
    k = Knowledge()
    k.saw_market(A, 0, {"food": 40}, {"food": 38})
    assert k.price_weight(A, 0) == pytest.approx(1.0)
    assert k.price_weight(A, PRICE_HALF_LIFE) == pytest.approx(0.5)
    k.markets[A].hops = 2
    assert k.price_weight(A, 0) == pytest.approx(0.64)
    assert k.price_weight(B, 0) == 0.0


def test_facts_are_not_retold_past_max_hops_and_stores_are_bounded() -> None:
    a, b = make_clone(1), make_clone(2)
    a.knowledge.saw_market(A, 10, {"food": 20}, {"food": 18})
    a.knowledge.markets[A].hops = MAX_HOPS
    gossip(a, b, 20)
    assert A not in b.knowledge.markets
    k = Knowledge()
    for i in range(MAX_MARKETS + 10):
        k.saw_market((0, 0, i), i, {"food": 20}, {"food": 18})
    assert len(k.markets) == MAX_MARKETS and (0, 0, 0) not in k.markets
    for i in range(MAX_ATTACKS + 5):
        k.saw_attack(-i - 1, -100, (0, 0), i, on_us=False)
    assert len(k.attacks) == MAX_ATTACKS


def test_nobody_gossips_with_someone_they_hold_hostile() -> None:
    a, b = make_clone(1), make_clone(2)
    b.knowledge.saw_market(A, 10, {"food": 20}, {"food": 18})
    a.relationships.of(npc_actor(2)).hostile = True
    talk = gossip(a, b, 20)
    assert talk.a_heard is None and talk.b_heard is None and not a.knowledge.markets


def test_a_reputation_spreads_by_gossip_and_becomes_a_belief() -> None:
    rook = npc_actor(99)
    listener = make_clone(10, name="Tove Sato", goal=Goal.TRADER)
    for teller_id, victim, tick in ((11, -201, 100), (12, -202, 200)):
        teller = make_clone(teller_id, name=f"Teller {teller_id}", goal=Goal.TRADER)
        names = {rook: "Rook Varga", victim: "Sol Haas"}
        teller.knowledge.saw_attack(rook, victim, (1, 2), tick, on_us=True, names=names)
        gossip(teller, listener, tick + 10, place=lambda s: "Tarsis")
    heard = [m for m in listener.memory if m.event == "heard-attack"]
    assert heard[0].text == "Teller 11 told me that Rook Varga attacked Sol Haas in Tarsis."
    assert listener.knowledge.danger((1, 2), 300) > 0
    beliefs = [m.text for m in reflect(listener, 400)]
    assert "Rook Varga attacks ships, I have heard twice: Rook Varga is dangerous." in beliefs
    assert listener.relationships.is_hostile(rook)
    # a pirate hears the same stories and does not turn on its own kind for them
    pirate = make_clone(20, goal=Goal.PIRATE)
    for teller_id in (11, 12):
        t = make_clone(teller_id)
        t.knowledge.saw_attack(rook, -300 - teller_id, (1, 2), teller_id, on_us=True)
        gossip(t, pirate, 500)
    reflect(pirate, 600)
    assert not pirate.relationships.is_hostile(rook)


def test_a_newcomer_talks_to_the_latest_arrivals() -> None:
    assert partners([1, 2, 3], 4, 0) == [3]
    assert partners([4], 4, 0) == []


def test_knowledge_and_beliefs_survive_a_restart_and_an_export(tmp_path: Path) -> None:
    clone = make_clone(1, name="Ines Lind", goal=Goal.TRADER)
    clone.knowledge.saw_market(A, 100, {"food": 21}, {"food": 19})
    clone.knowledge.saw_attack(-7, npc_actor(1), (3, 4), 120, on_us=True, names={-7: "Rook"})
    for t in (130, 140):
        clone.memory.add(t, "x", importance=4, entities=(-8, 2, -9), event="heard-attack")
    reflect(clone, 150)
    assert clone.relationships.is_hostile(-8)
    repo = JsonDirRepository(tmp_path)
    repo.put(clone)
    back = JsonDirRepository(tmp_path).get(clone.id)  # a restarted server reads it again
    assert back.knowledge.to_dict() == clone.knowledge.to_dict()
    assert back.relationships.is_hostile(-8) and back.beliefs == clone.beliefs
    key = SigningKey.generate()
    data = export_clone(back, key=key, world="infinity", tick=200)
    arrival = import_clone(data, world="elsewhere", tick=300, own=[key.public_bytes])
    assert arrival.clone.knowledge.markets[A].buy == {"food": 21}
    assert arrival.clone.knowledge.danger((3, 4), 300) > 0
    assert arrival.clone.relationships.is_hostile(-8)


def test_documents_without_knowledge_still_load() -> None:
    raw = make_clone(1).to_dict()
    del raw["knowledge"]
    assert not Clone.from_dict(raw).knowledge.markets


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "knowledge must be an object"),
        ({"weird": 1}, "unknown fields"),
        ({"markets": {}}, "knowledge.markets must be a list"),
        ({"markets": [{"station": "1:2", "tick": 1, "source": 0, "hops": 0}]}, "station"),
        (
            {"markets": [{"station": "1:2:3", "tick": 1, "source": 0, "hops": -1}]},
            "hops must be >= 0",
        ),
        (
            {
                "markets": [
                    {"station": "1:2:3", "tick": 1, "source": 0, "hops": 0, "buy": {"a": -1}}
                ]
            },
            "non-negative integer prices",
        ),
        (
            {"dangers": [{"system": "1:2", "tick": 1, "source": 0, "hops": 0, "level": 3}]},
            "level must be a number within 0..1",
        ),
        ({"attacks": [{"attacker": "x"}]}, "attacker must be an integer"),
        ({"names": {"abc": "Rook"}}, "not an actor id"),
    ],
)
def test_bad_knowledge_documents_are_refused_with_the_field_named(
    raw: object, message: str
) -> None:
    with pytest.raises(AgentError, match=message):
        Knowledge.from_dict(raw)


def test_a_bad_knowledge_document_names_itself_inside_a_clone() -> None:
    raw = make_clone(1).to_dict()
    raw["knowledge"] = {"markets": 3}
    with pytest.raises(AgentError, match=r"knowledge\.markets"):
        Clone.from_dict(raw)
