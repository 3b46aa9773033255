"""The economy and combat in the browser, against a real server, in Debian's chromium.

One story: a player buys fuel at their station, mines ore at an asteroid, sells it, then fights
another player's ship out in lawless space, destroys it and loots the wreck. All of it through
the page: keys, clicks and the station screen.

The server runs in this process on its own thread (real aiohttp, real sockets, a real SQLite
file) so the test can do two things no player can: drain the tank before the purchase, and move
ships across a system instead of flying there for minutes. Everything the player does is done
through the browser; the victim is a real WebSocket client (the project's bot).
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from tests.web.harness import (
    ROOT,
    Player,
    ThreadedServer,
    game_fixture,
    home_system,
    launch,
    lawless_spot,
    new_bot,
    place,
    set_vitals,
    vitals,
)

pytestmark = pytest.mark.browser
COMBAT_SHOT = ROOT / "docs" / "screenshot-combat.png"

game = game_fixture("combat")


def click(p: Player, testid: str) -> None:
    p.page.click(f"[data-testid='{testid}']")


def test_trade_mine_fight_loot(game: ThreadedServer, browser: Any) -> None:
    base = game.live.http
    name = "Vega_" + str(os.getpid() % 10000)
    vega = Player(browser, base, name)
    s = vega.register()
    assert s["docked"]
    system = home_system(game, name)
    assert system["fields"], "the home system has an asteroid field"
    start = vega.wait_status("the first status", lambda st: st.get("credits") is not None)
    credits0 = start["credits"]

    # --- buy fuel: the tank is half empty (set-up), Services -> Refuel
    set_vitals(game, name, fuel=vitals(game, name).fuel_max / 2)
    vega.wait_status("the drained tank", lambda st: st["fuel"] < st["fuel_max"])
    vega.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
    click(vega, "station-tab-services")
    click(vega, "buy-fuel")
    after = vega.wait_status("a full tank", lambda st: st["fuel"] == st["fuel_max"])
    assert after["credits"] < credits0
    vega.page.wait_for_selector("#station-result.ok", timeout=5000)

    # --- mine: undock, (set-up) move next to a rock, M starts the mining laser
    vega.undock()
    rock = system["fields"][0]["rocks"][0]
    ore = system["fields"][0]["ore"]
    place(game, name, rock["x"] + rock["r"] + 40.0, rock["y"])
    vega.wait_near("the move", rock["x"], rock["y"], rock["r"] + 100)
    vega.page.keyboard.press("m")
    mined = vega.wait_status("ore in the hold", lambda st: st["cargo"].get(ore, 0) >= 2, 30)
    vega.page.keyboard.press("m")  # stop
    held = mined["cargo"][ore]

    # --- sell: back at the station (set-up), dock with F, Market -> sell the ore
    station = system["stations"][0]
    place(game, name, station["x"] + station["radius"] + 40.0, station["y"])
    vega.wait_near("the station in range", station["x"], station["y"], station["dock_radius"])
    vega.page.keyboard.press("f")
    vega.wait("docking", lambda s: s["docked"])
    vega.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
    click(vega, "station-tab-market")
    held = vega.status()["cargo"].get(ore, held)
    vega.page.fill(f"[data-testid='qty-{ore}']", str(held))
    before_sale = vega.status()["credits"]
    click(vega, f"sell-{ore}")
    sold = vega.wait_status("the ore sold", lambda st: not st["cargo"].get(ore))
    assert sold["credits"] > before_sale

    # --- fight: a real WebSocket player carrying cargo waits out in lawless space
    victim_name = "Mark_" + str(os.getpid() % 10000)
    victim = new_bot(game, victim_name)

    async def buy_cargo() -> None:
        await victim.connect()
        await victim.send({"t": "market", "ship": victim.ship})
        while victim.market is None:
            await victim.pump(0.05)
        item = min(victim.market["items"], key=lambda i: i["buy"])["key"]
        receipt, code = await victim.request({"t": "trade", "item": item, "qty": 2, "side": "buy"})
        assert receipt is not None, code

    game.run(buy_cargo())
    launch(game, victim)
    loot_item = next(iter(victim.receipts.values()))["cargo"]
    pump = game.keep_reading(victim, 120)
    x, y = lawless_spot(system)
    vega.undock()
    place(game, victim_name, x, y)
    place(game, name, x - 150.0, y)
    victim_ship = str(victim.ship)
    vega.wait("the victim in view", lambda s: victim_ship in s["entities"])
    time.sleep(0.5)
    # T locks the nearest ship; holding Space fires the selected weapon whenever it is ready
    vega.page.keyboard.press("t")
    vega.lock(victim.ship, confirmed=True)
    vega.page.keyboard.down("Space")
    try:
        vega.wait_status(
            "hits on the target", lambda st: (st.get("target") or {}).get("shield", 1) < 1, 20
        )
        COMBAT_SHOT.parent.mkdir(parents=True, exist_ok=True)
        vega.page.screenshot(path=str(COMBAT_SHOT))
        vega.wait("the victim destroyed", lambda s: victim_ship not in s["entities"], 60)
    finally:
        vega.page.keyboard.up("Space")
    fx = vega.page.evaluate("window.callister.fx()")
    assert fx, "effects were received"

    # --- loot: Shift+T locks the wreck, L takes what it holds
    vega.press_until(
        "lock a wreck",
        "Shift+T",
        lambda: vega.status().get("target"),
        lambda target: (target or {}).get("kind") == "wreck",
    )
    vega.page.keyboard.press("l")
    looted = vega.wait_status(
        "the loot in the hold",
        lambda st: all(st["cargo"].get(k, 0) >= q for k, q in loot_item.items()),
        20,
    )
    assert looted["cargo"]

    # the books balance after all of it
    audit = game.run(game.world.writer.call(game.world.economy.audit))
    assert audit["balanced"], audit["problems"]
    pump.cancel()
    assert not vega.page_errors, vega.page_errors
