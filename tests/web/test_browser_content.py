"""A modded hull in the browser (issue 18), against a real server, in Debian's chromium.

A private world runs the worked example pack (docs/examples/frontier); a player whose home is
that world logs in, buys the pack's corsair at the shipyard from the station screen's code
path, and the unchanged client draws it from the outline the server sent (the `served`
source, ten points): a pack needs no client change. The screenshot is saved as
docs/screenshot-modded-hull.png.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.harness import (
    PASSWORD,
    ROOT,
    AdminConsole,
    Player,
    ThreadedServer,
    api,
    game_fixture,
    until,
)

from callister.content import ContentPack

pytestmark = pytest.mark.browser
EXAMPLE = ROOT / "docs" / "examples" / "frontier"
SHOT = ROOT / "docs" / "screenshot-modded-hull.png"

# seed 3: the home station has a shipyard
game = game_fixture("content", world_seed=3)


def test_a_modded_hull_is_drawn_from_the_server_outline(
    game: ThreadedServer,
    browser: Any,
) -> None:
    base = game.live.http
    root = game.account("Maker", role="admin")
    world = {"name": "frontier", "visibility": "invite", "seed": 3,
             "rules": {"starting_credits": 200000}}  # fmt: skip
    api(base, "POST", "/api/worlds", world, root["token"])
    files = dict(ContentPack.from_dir(EXAMPLE).files)
    api(base, "PUT", "/api/admin/worlds/frontier/content", {"files": files}, root["token"])
    pilot = game.account("Corsa")
    api(base, "POST", "/api/worlds/frontier/invite", {"account": "Corsa"}, root["token"])
    api(base, "POST", "/api/worlds/frontier/join", {}, pilot["token"])
    api(base, "POST", "/api/worlds/frontier/home", {}, pilot["token"])

    p = Player(browser, base, "Corsa")
    p.log_in()  # at home in the frontier world
    assert p.page.evaluate("window.callister.worlds().world") == "frontier"
    me = str(p.snap()["ship"])
    served = p.page.evaluate("window.callister.state.me.content.hulls.corsair")
    assert served["name"] == "Corsair" and len(served["silhouette"]) == 10

    # buy the corsair at the shipyard, through the station screen's own request
    p.page.evaluate("window.callister.stationScreen.buyHull('corsair')")
    p.wait_eval("the corsair bought", "window.callister.state.hullKey()", lambda h: h == "corsair")

    def drawn_as_the_corsair(what: str) -> dict[str, Any]:
        """Our ship, drawn as the corsair from the outline the server sent."""
        drawn: dict[str, Any] = p.until(
            what,
            lambda: p.page.evaluate("window.callister.hulls()").get(me, {}),
            lambda h: h.get("hull") == "corsair" and h.get("source") == "served",
        )
        return drawn

    assert drawn_as_the_corsair("the corsair drawn from the served outline")["points"] == 10
    # out in space, close up, for the picture: it flies as a corsair
    p.page.keyboard.press("Escape")
    p.undock()
    for _ in range(4):
        p.page.keyboard.press("Equal")
    drawn_as_the_corsair("still drawn as the corsair")
    p.page.screenshot(path=str(SHOT))
    assert SHOT.stat().st_size > 10_000
    assert not p.page_errors, p.page_errors
    p.close()


def test_the_admin_console_manages_a_world_pack(game: ThreadedServer, browser: Any) -> None:
    base = game.live.http
    game.account("Curator", role="admin")
    root = api(base, "POST", "/api/login", {"name": "Curator", "password": PASSWORD})
    api(base, "POST", "/api/worlds", {"name": "outpost", "visibility": "private"},
        root["token"])  # fmt: skip
    console = AdminConsole(browser, base, 1400, 1000)
    page = console.log_in("Curator", "[data-testid='content-outpost']")
    page.click("[data-testid='content-outpost']")
    page.wait_for_selector("[data-testid='content-summary']:has-text('no pack')", timeout=10000)
    # the example's files from disk, with a mistake typed into the hull
    page.set_input_files("[data-testid='content-upload']", sorted(EXAMPLE.glob("*.toml")))
    hulls = "[data-testid='content-file-hulls.toml']"
    until("the files loaded", lambda: page.input_value(hulls), lambda v: "corsair" in v)
    page.fill(hulls, page.input_value(hulls).replace("thrust = 75.0", 'thrust = "fast"'))
    page.click("[data-testid='content-save']")
    problem = page.wait_for_selector("[data-testid='content-problem']", timeout=10000)
    assert "hulls.toml [corsair] thrust" in (problem.text_content() or "")
    assert game.call(lambda: game.live.services.store.content.current("outpost")) is None
    page.fill(hulls, page.input_value(hulls).replace('thrust = "fast"', "thrust = 75.0"))
    page.click("[data-testid='content-save']")
    page.wait_for_selector("[data-testid='content-summary']:has-text('version 1: frontier')",
                           timeout=10000)  # fmt: skip
    row = game.call(lambda: game.live.services.store.content.current("outpost"))
    assert row is not None and row.digest == ContentPack.from_dir(EXAMPLE).digest
    page.click("[data-testid='content-clear']")
    page.wait_for_selector("[data-testid='content-summary']:has-text('version 2: no pack')",
                           timeout=10000)  # fmt: skip
    assert not console.errors, console.errors
    console.close()
