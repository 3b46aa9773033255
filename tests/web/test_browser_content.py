"""A modded hull in the browser (issue 18), against a real server, in Debian's chromium.

A private world runs the worked example pack (docs/examples/frontier); a player whose home is
that world logs in, buys the pack's corsair at the shipyard from the station screen's code
path, and the unchanged client draws it from the outline the server sent (the `served`
source, ten points): a pack needs no client change. The screenshot is saved as
docs/screenshot-modded-hull.png.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.test_browser import PASSWORD, Player, browser  # noqa: F401
from tests.web.test_browser_combat import ThreadedServer

from callister.content import ContentPack

pytestmark = pytest.mark.browser
ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "frontier"
SHOT = ROOT / "docs" / "screenshot-modded-hull.png"


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    # seed 3: the home station has a shipyard
    server = ThreadedServer(tmp_path_factory.mktemp("content"), world_seed=3)
    try:
        yield server
    finally:
        server.close()


def call(base: str, method: str, path: str, body: Any, token: str | None = None) -> Any:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def until(what: str, get: Callable[[], Any], ok: Callable[[Any], bool], t: float = 20.0) -> Any:
    deadline = time.monotonic() + t
    while True:
        value = get()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.1)


def test_a_modded_hull_is_drawn_from_the_server_outline(
    game: ThreadedServer,
    browser: Any,  # noqa: F811
) -> None:
    base = game.live.http
    root = call(base, "POST", "/api/register", {"name": "Maker", "password": PASSWORD})
    game.live.services.store.accounts.set_role("Maker", "admin")
    world = {"name": "frontier", "visibility": "invite", "seed": 3,
             "rules": {"starting_credits": 200000}}  # fmt: skip
    call(base, "POST", "/api/worlds", world, root["token"])
    files = dict(ContentPack.from_dir(EXAMPLE).files)
    call(base, "PUT", "/api/admin/worlds/frontier/content", {"files": files}, root["token"])
    pilot = call(base, "POST", "/api/register", {"name": "Corsa", "password": PASSWORD})
    call(base, "POST", "/api/worlds/frontier/invite", {"account": "Corsa"}, root["token"])
    call(base, "POST", "/api/worlds/frontier/join", {}, pilot["token"])
    call(base, "POST", "/api/worlds/frontier/home", {}, pilot["token"])

    p = Player(browser, base, "Corsa")
    p.page.fill("#login-name", "Corsa")
    p.page.fill("#login-password", PASSWORD)
    p.page.click("#btn-login")
    p.wait("in the frontier world", lambda s: s["inGame"] and s["status"] == "online"
           and s["pos"] and s["system"])  # fmt: skip
    assert p.page.evaluate("window.callister.worlds().world") == "frontier"
    me = str(p.snap()["ship"])
    served = p.page.evaluate("window.callister.state.me.content.hulls.corsair")
    assert served["name"] == "Corsair" and len(served["silhouette"]) == 10

    # buy the corsair at the shipyard, through the station screen's own request
    p.page.evaluate("window.callister.stationScreen.buyHull('corsair')")
    until("the corsair bought",
          lambda: p.page.evaluate("window.callister.state.hullKey()"),
          lambda h: h == "corsair")  # fmt: skip
    drawn = until(
        "the corsair drawn from the served outline",
        lambda: p.page.evaluate("window.callister.hulls()").get(me, {}),
        lambda h: h.get("hull") == "corsair" and h.get("source") == "served",
    )
    assert drawn["points"] == 10
    # out in space, close up, for the picture: it flies as a corsair
    p.page.keyboard.press("Escape")
    p.page.keyboard.press("f")
    p.wait("undocked", lambda s: not s["docked"])
    for _ in range(4):
        p.page.keyboard.press("Equal")
    until("still drawn as the corsair",
          lambda: p.page.evaluate("window.callister.hulls()").get(me, {}),
          lambda h: h.get("hull") == "corsair" and h.get("source") == "served")  # fmt: skip
    p.page.screenshot(path=str(SHOT))
    assert SHOT.stat().st_size > 10_000
    assert not p.page_errors, p.page_errors
    p.context.close()


def test_the_admin_console_manages_a_world_pack(game: ThreadedServer, browser: Any) -> None:  # noqa: F811
    base = game.live.http
    call(base, "POST", "/api/register", {"name": "Curator", "password": PASSWORD})
    game.live.services.store.accounts.set_role("Curator", "admin")
    root = call(base, "POST", "/api/login", {"name": "Curator", "password": PASSWORD})
    call(base, "POST", "/api/worlds", {"name": "outpost", "visibility": "private"},
         root["token"])  # fmt: skip
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/admin")
    page.fill("#admin-name", "Curator")
    page.fill("#admin-password", PASSWORD)
    page.click("#admin-login-submit")
    page.wait_for_selector("[data-testid='content-outpost']", timeout=10000)
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
    assert not errors, errors
    page.context.close()
