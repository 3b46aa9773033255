"""Friends together in the browser (issue 16), in Debian's chromium against a real server: a
player picks a home system on the registration form, makes an invite link from the party
panel; a friend opens the link, registers and starts at the same station; the friend accepts
the party invitation that arrives, and both see each other in the party list and on the system
and galaxy maps. Everything through the page. Saves docs/screenshot-party.png."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from tests.web.harness import ROOT, Player, ThreadedServer, game_fixture

pytestmark = pytest.mark.browser

SHOT = ROOT / "docs" / "screenshot-party.png"

# four home systems, three offered: the choice matters
game = game_fixture("party", damage_multiplier=1.0, home_systems=4, start_choices=3)


def party(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callister.party()")
    return value


def test_a_friend_starts_where_i_am_and_we_party(game: ThreadedServer, browser: Any) -> None:
    tag = str(os.getpid() % 10000)
    ann = Player(browser, game.live.http, "Ann_" + tag, 1280, 800)
    # the registration form offers home systems: Ann picks the last one offered
    ann.page.wait_for_selector("[data-testid='login-home'] option:nth-child(4)", state="attached")
    options = ann.page.eval_on_selector_all(
        "[data-testid='login-home'] option", "os => os.map(o => o.value)"
    )
    assert options[0] == "" and len(options) == 4
    ann.page.select_option("[data-testid='login-home']", options[3])
    s = ann.register()
    home = options[3].split(",")
    assert [s["system"]["x"], s["system"]["y"]] == home
    # the party panel (from its chip) makes an invite link
    ann.page.click("[data-testid='chip-party']")
    ann.page.click("[data-testid='party-link']")
    link = ann.until("an invite link", lambda: party(ann)["link"])
    assert "/?invite=" in link
    # Bob opens the link: the form says who invites him and where he will start
    bob = Player(browser, game.live.http, "Bob_" + tag, 1280, 800)
    bob.page.goto(link)
    bob.page.wait_for_selector(f"[data-testid='login-invite']:has-text('{ann.name} invites you')")
    assert not bob.page.is_visible("[data-testid='login-home']")
    s = bob.register()
    assert [s["system"]["x"], s["system"]["y"]] == home  # where Ann lives, not his own pick
    # Ann's party invites him as he arrives: the panel opens with Join
    ann_id = ann.page.evaluate("window.callister.state.me.account")
    bob.page.wait_for_selector(f"[data-testid='party-accept-{ann_id}']", state="visible")
    bob.page.click(f"[data-testid='party-accept-{ann_id}']")
    for p, other in ((ann, bob), (bob, ann)):
        got = p.until("the party of two", lambda p=p: party(p), lambda x: len(x["members"]) == 2)
        assert {m["name"] for m in got["members"]} == {ann.name, bob.name}
        p.page.wait_for_selector(f"#party-list li:has-text('{other.name}')", state="visible")
    # Bob undocks and flies off; Ann's list and map follow him
    bob.page.keyboard.press("Escape")
    bob.undock()
    bob.hold("w", 1.0)
    ann.until(
        "Bob in space on Ann's party list",
        lambda: party(ann)["members"],
        lambda ms: any(m["name"] == bob.name and m["docked"] is None and m["x"] for m in ms),
    )
    ann.page.keyboard.press("Escape")  # the station screen
    ann.page.keyboard.press("n")
    ann.page.wait_for_selector("#sysmap", state="visible")
    # the travel list offers to fly to him (a party member, followed)
    ann.page.wait_for_selector(f"#travel-list li:has-text('{bob.name}')")
    ann.until("Bob on the system map", lambda: party(ann)["drawn"]["system"],
              lambda names: bob.name in names)  # fmt: skip
    time.sleep(0.5)
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    ann.page.screenshot(path=str(SHOT))
    assert SHOT.stat().st_size > 20_000
    # the galaxy map rings the party's system
    ann.page.keyboard.press("j")
    ann.page.wait_for_selector("#galaxy", state="visible")
    ann.until("Bob on the galaxy map", lambda: party(ann)["drawn"]["galaxy"],
              lambda names: bob.name in names)  # fmt: skip
    # Bob leaves: both panels say so
    if not party(bob)["open"]:
        bob.page.click("[data-testid='chip-party']")
    bob.page.click("[data-testid='party-leave']")
    for p in (ann, bob):
        p.until("the party ended", lambda p=p: party(p)["party"], lambda x: x is None)
    assert not ann.page_errors and not bob.page_errors, (ann.page_errors, bob.page_errors)
    ann.close()
    bob.close()
