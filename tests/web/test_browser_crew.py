"""Crews in the browser, against a real server, in Debian's chromium: hire a crew member at the
station, give an order with a button, talk to them in the ship's chat. Everything through the
page (clicks and typing); the server runs in this process on its own thread."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.web.harness import Player, ThreadedServer, game_fixture, pilot_named

pytestmark = pytest.mark.browser

game = game_fixture("crew")


def wait_crew(p: Player, what: str, pred: Callable[[dict[str, Any]], Any]) -> Any:
    """Wait on the crew panel (candidates, crew aboard, the ship's chat)."""
    return p.wait_eval(what, "window.callister.crew()", pred)


def test_hire_order_and_talk(game: ThreadedServer, browser: Any, tmp_path: Path) -> None:
    p = Player(browser, game.live.http, "Cap_" + str(os.getpid() % 10000))
    s = p.register()
    assert s["docked"]
    c = wait_crew(p, "candidates at the home station", lambda c: len(c["candidates"]) >= 3)
    # the panel names the station the candidates wait at (the `crew` message's station_name)
    assert c["station"] and c["station"] in p.page.inner_text("[data-testid='crew-hire-title']")
    gunner = next(x for x in c["candidates"] if x["role"] == "gunner")
    p.page.click("[data-testid='hire-gunner']")
    c = wait_crew(p, "the gunner aboard", lambda c: len(c["crew"]) == 1)
    assert c["crew"][0]["name"] == gunner["name"] and c["crew"][0]["role"] == "gunner"
    assert gunner["id"] not in [x["id"] for x in c["candidates"]]  # hired away
    assert p.page.is_visible(f"#crew-list li[data-clone='{gunner['id']}']")
    # the price was paid through the ledger: the status shows the credits left
    wait_crew(p, "the greeting", lambda c: any(x["kind"] == "hired" for x in c["chat"]))
    # an order from the buttons
    p.page.click("[data-testid='order-hold_fire']")
    wait_crew(p, "the order acknowledged", lambda c: any(x["kind"] == "ack" for x in c["chat"]))
    # talk to them: the reply comes from the clone's memories (it remembers being hired)
    p.page.fill("[data-testid='crew-chat-input']", "What happened?")
    p.page.click("[data-testid='crew-chat-send']")
    c = wait_crew(p, "a reply", lambda c: any(x["kind"] == "reply" for x in c["chat"]))
    reply = next(x for x in c["chat"] if x["kind"] == "reply")
    assert reply["from"] == gunner["name"] and reply["text"]
    shown = p.page.inner_text("#crew-chat-log")
    assert "What happened?" in shown and reply["text"][:20] in shown
    # chat is literal text: markup typed by the captain is shown, never interpreted
    p.page.fill("[data-testid='crew-chat-input']", "<b id='x'>hi</b>")
    p.page.click("[data-testid='crew-chat-send']")
    wait_crew(
        p, "the literal line", lambda c: any("<b id='x'>" in (x["text"] or "") for x in c["chat"])
    )
    assert p.page.query_selector("#crew-chat-log b#x") is None
    assert not p.page_errors
    p.page.screenshot(path=str(tmp_path / "crew.png"))
    p.close()


def test_hail_an_npc_ship_from_the_crew_panel(game: ThreadedServer, browser: Any) -> None:
    """Lock the nearest ship (T), type a line and press Hail: the NPC flying it answers by
    name in the ship's chat (issue 15: NPC dialogue)."""
    from callister.agents import Clone, Goal, Profile, Role

    p = Player(browser, game.live.http, "Hail_" + str(os.getpid() % 10000))
    s = p.register()
    assert s["docked"]
    world = game.world
    pilot = game.call(lambda: pilot_named(world, p.name))

    async def spawn() -> int:
        handle = world.zones[pilot.zone_key]
        me = handle.zone.ship_state(pilot.character.ship_id)
        trader = Clone.create(
            world.agents.repo.new_id(),
            Profile(name="Tove Lind", traits=("talkative", "friendly")),
            world=world.name,
            goal=Goal.TRADER,
            role=Role.PILOT,
        )
        ship = await world.ids.next()
        world.agents.spawn_npc(handle, trader, ship, "hauler", me.x + 600.0, me.y)
        return ship

    npc: int = game.run(spawn())
    p.wait("the NPC in view", lambda st: str(npc) in st["entities"])
    p.lock(npc)
    p.page.fill("[data-testid='crew-chat-input']", "Hello there, who are you?")
    p.page.click("[data-testid='crew-hail']")
    c = wait_crew(p, "the NPC's answer", lambda c: any(x["kind"] == "hail" for x in c["chat"]))
    answer = next(x for x in c["chat"] if x["kind"] == "hail")
    assert answer["from"] == "Tove Lind" and "Tove Lind" in answer["text"]
    assert "Tove Lind" in p.page.inner_text("#crew-chat-log")
    assert not p.page_errors
    p.close()
