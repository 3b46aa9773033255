"""Friends together in the browser (issue 16), in Debian's chromium against a real server: a
player picks a home system on the registration form, makes an invite link from the party
panel; a friend opens the link, registers and starts at the same station; the friend accepts
the party invitation that arrives, and both see each other in the party list and on the system
and galaxy maps. Everything through the page. Saves docs/screenshot-party.png."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.web.test_browser import ROOT, Player, browser  # noqa: F401
from tests.web.test_browser_combat import ThreadedServer
from tests.web.test_browser_layout import SizedPlayer

pytestmark = pytest.mark.browser

SHOT = ROOT / "docs" / "screenshot-party.png"


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    # four home systems, three offered: the choice matters
    server = ThreadedServer(
        tmp_path_factory.mktemp("party"), damage_multiplier=1.0, home_systems=4, start_choices=3
    )
    try:
        yield server
    finally:
        server.close()


def party(p: Player) -> dict[str, Any]:
    value: dict[str, Any] = p.page.evaluate("window.callister.party()")
    return value


def wait_for(p: Player, what: str, get: Callable[[], Any], pred: Callable[[Any], bool],
             timeout: float = 20.0) -> Any:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if pred(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{p.name}: timed out waiting for {what}; last: {value}")
        time.sleep(0.1)


def test_a_friend_starts_where_i_am_and_we_party(game: ThreadedServer, browser: Any) -> None:  # noqa: F811
    tag = str(os.getpid() % 10000)
    ann = SizedPlayer(browser, game.live.http, "Ann_" + tag, 1280, 800, touch=False, phone=False)
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
    link = wait_for(ann, "an invite link", lambda: party(ann)["link"], bool)
    assert "/?invite=" in link
    # Bob opens the link: the form says who invites him and where he will start
    bob = SizedPlayer(browser, game.live.http, "Bob_" + tag, 1280, 800, touch=False, phone=False)
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
        got = wait_for(
            p, "the party of two", lambda p=p: party(p), lambda x: len(x["members"]) == 2
        )
        assert {m["name"] for m in got["members"]} == {ann.name, bob.name}
        p.page.wait_for_selector(f"#party-list li:has-text('{other.name}')", state="visible")
    # Bob undocks and flies off; Ann's list and map follow him
    bob.page.keyboard.press("Escape")
    bob.page.keyboard.press("f")
    bob.wait("undocked", lambda s: not s["docked"])
    bob.hold("w", 1.0)
    wait_for(
        ann,
        "Bob in space on Ann's party list",
        lambda: party(ann)["members"],
        lambda ms: any(m["name"] == bob.name and m["docked"] is None and m["x"] for m in ms),
    )
    ann.page.keyboard.press("Escape")  # the station screen
    ann.page.keyboard.press("n")
    ann.page.wait_for_selector("#sysmap", state="visible")
    # the travel list offers to fly to him (a party member, followed)
    ann.page.wait_for_selector(f"#travel-list li:has-text('{bob.name}')")
    wait_for(ann, "Bob on the system map", lambda: party(ann)["drawn"]["system"],
             lambda names: bob.name in names)  # fmt: skip
    time.sleep(0.5)
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    ann.page.screenshot(path=str(SHOT))
    assert SHOT.stat().st_size > 20_000
    # the galaxy map rings the party's system
    ann.page.keyboard.press("j")
    ann.page.wait_for_selector("#galaxy", state="visible")
    wait_for(ann, "Bob on the galaxy map", lambda: party(ann)["drawn"]["galaxy"],
             lambda names: bob.name in names)  # fmt: skip
    # Bob leaves: both panels say so
    if not party(bob)["open"]:
        bob.page.click("[data-testid='chip-party']")
    bob.page.click("[data-testid='party-leave']")
    for p in (ann, bob):
        wait_for(p, "the party ended", lambda p=p: party(p)["party"], lambda x: x is None)
    assert not ann.page_errors and not bob.page_errors, (ann.page_errors, bob.page_errors)
    ann.context.close()
    bob.context.close()
