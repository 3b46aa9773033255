"""Missions over a real socket (issue 16): the tutorial's first steps and their rewards, skip
and resume, the mission board (accept, abandon, refusals), a stranded pilot rescued by another
player and by the station's tug, the recall home, the ration's refusal, and bad input.

Set-up may empty a tank (what minutes of thrust would do); everything else is what a client
sends."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import warnings
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import CheckedBot, pump_until, undock


class MissionBot(CheckedBot):
    """A checked bot keeping every JSON message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.msgs: list[dict[str, Any]] = []

    def _on_frame(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self.msgs.append(json.loads(data))
        super()._on_frame(data)

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            m
            for m in self.msgs
            if m.get("t") == kind and all(m.get(k) == v for k, v in match.items())
        ]

    def last(self, kind: str) -> dict[str, Any]:
        return self.of(kind)[-1]

    def errors(self, ref: str) -> list[str]:
        return [m["code"] for m in self.of("error") if m.get("ref") == ref]


async def mission_player(live: LiveServer, http: aiohttp.ClientSession, name: str) -> MissionBot:
    bot = MissionBot(live.http, live.ws, name, session=http, track_view=True, jump_every_s=0)
    await bot.register()
    await bot.connect()
    await pump_until([bot], lambda: bool(bot.of("objectives")) and bool(bot.status))
    return bot


def pilot_of(live: LiveServer, bot: MissionBot) -> Any:
    world = live.services.world
    return world.pilots[bot.welcome["account"]]


def empty_tank(live: LiveServer, bot: MissionBot) -> None:
    world = live.services.world
    pilot = pilot_of(live, bot)
    world.zones[pilot.zone_key].zone.set_vitals(pilot.character.ship_id, fuel=0.0)


async def test_tutorial_starts_docked_rewards_steps_and_can_be_skipped_and_resumed(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await mission_player(live, http, "Learner")
    first = a.last("objectives")
    t = first["tutorial"]
    assert t["step"] == "undock" and t["index"] == 0 and not t["finished"]
    assert t["steps"][:2] == ["undock", "fly"] and "sell" in t["steps"]
    await pump_until([a], lambda: (a.status.get("objective") or {}).get("source") == "tutorial")
    assert a.status["objective"]["marker"]["kind"] == "station"
    credits = a.status["credits"]

    await undock(a)
    await pump_until([a], lambda: bool(a.of("tutorial", step="fly")))
    fly = a.last("tutorial")
    assert fly["reward"] == 100 and fly["objective"]["marker"]["kind"] == "point"
    await pump_until([a], lambda: a.status["credits"] == credits + 100)
    assert any(m["kind"] == "tutorial_reward" for m in a.of("receipt"))

    # fly to the marker: the autopilot takes us; the step is done within its radius
    marker = fly["objective"]["marker"]
    await a.send(
        {
            "t": "autopilot",
            "ship": a.ship,
            "to": {"kind": "point", "x": marker["x"], "y": marker["y"]},
        }
    )
    await pump_until([a], lambda: bool(a.of("tutorial", step="mine")), timeout=120)
    await pump_until([a], lambda: a.status["credits"] >= credits + 200)

    await a.send({"t": "tutorial", "ship": a.ship, "op": "skip"})
    await pump_until([a], lambda: a.last("tutorial")["skipped"])
    await pump_until([a], lambda: a.status.get("objective") is None)
    await a.send({"t": "tutorial", "ship": a.ship, "op": "resume"})
    await pump_until([a], lambda: not a.last("tutorial")["skipped"])
    assert a.last("tutorial")["step"] == "mine"
    await a.send({"t": "tutorial", "ship": a.ship, "op": "resume"})  # not paused: refused
    await pump_until([a], lambda: bool(a.errors("tutorial")))
    assert a.errors("tutorial") == ["NOT_AVAILABLE"]

    # the progress is in the database, as a player's next login (or a restart) reads it
    saved = live.services.store.missions.get(a.welcome["account"], live.services.world.name)
    assert saved is not None and saved["tutorial"]["step"] == 2 and not saved["tutorial"]["skipped"]
    await a.close()


async def test_board_accept_abandon_and_refusals(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await mission_player(live, http, "Hauler")
    await a.send({"t": "missions", "ship": a.ship})
    await pump_until([a], lambda: bool(a.of("missions")))
    board = a.last("missions")
    assert board["station"] == a.welcome["home_station"] and board["contracts"]
    assert board["terms"]["rank"] == "neutral" and board["terms"]["max_tier"] == 0
    kinds = {c["kind"] for c in board["contracts"]}
    assert kinds & {"delivery", "mining"}
    take = next(c for c in board["contracts"] if c["tier"] == 0 and c["collateral"] <= 2000)
    high = next((c for c in board["contracts"] if c["tier"] > 0), None)

    await a.send({"t": "accept", "ship": a.ship, "contract": take["id"]})
    await pump_until([a], lambda: bool(a.of("mission", event="accepted")))
    assert a.last("mission")["contract"] == take["id"]
    await pump_until(
        [a], lambda: (a.status.get("objective") or {}).get("source") in ("tutorial", "contract")
    )

    for contract, code in (
        (take["id"], "NOT_AVAILABLE"),  # held already
        ("d000000000000", "NOT_AVAILABLE"),  # not on this board
    ) + (((high["id"], "NOT_AVAILABLE"),) if high else ()):  # rank too low
        before = len(a.errors("accept"))
        await a.send({"t": "accept", "ship": a.ship, "contract": contract})
        await pump_until([a], lambda before=before: len(a.errors("accept")) > before)
        assert a.errors("accept")[-1] == code

    await a.send({"t": "abandon", "ship": a.ship, "contract": take["id"]})
    await pump_until([a], lambda: bool(a.of("mission", event="abandoned")))
    await a.send({"t": "abandon", "ship": a.ship, "contract": take["id"]})
    await pump_until([a], lambda: bool(a.errors("abandon")))
    assert a.errors("abandon") == ["NOT_AVAILABLE"]
    await pump_until([a], lambda: bool(a.of("standing")))
    assert a.last("standing")["value"] == -2

    await undock(a)
    await a.send({"t": "missions", "ship": a.ship})
    await pump_until([a], lambda: bool(a.errors("missions")))
    assert a.errors("missions") == ["NOT_DOCKED"]
    await a.close()


async def test_bad_mission_messages_get_clear_errors(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await mission_player(live, http, "Typo")
    bad = [
        ({"t": "accept", "ship": a.ship}, "BAD_FIELD"),  # no contract
        ({"t": "accept", "ship": a.ship, "contract": "x" * 33}, "BAD_FIELD"),
        ({"t": "accept", "ship": a.ship, "contract": "../etc"}, "BAD_FIELD"),
        ({"t": "abandon", "ship": a.ship, "contract": 7}, "BAD_FIELD"),
        ({"t": "tutorial", "ship": a.ship, "op": "restart"}, "BAD_FIELD"),
        ({"t": "rescue", "ship": a.ship, "op": "take"}, "BAD_FIELD"),  # no kind
        ({"t": "rescue", "ship": a.ship, "op": "take", "kind": "teleport"}, "BAD_FIELD"),
        ({"t": "recall", "ship": a.ship, "confirm": True}, "BAD_FIELD"),  # no rid
        ({"t": "recall", "ship": a.ship, "rid": "r1", "confirm": "yes"}, "BAD_FIELD"),
        ({"t": "ration", "ship": a.ship}, "BAD_FIELD"),
        ({"t": "missions", "ship": a.ship + 1}, "NOT_YOUR_SHIP"),
    ]
    for msg, code in bad:
        before = len(a.of("error"))
        await a.send(msg)
        await pump_until([a], lambda before=before: len(a.of("error")) > before)
        assert a.last("error")["code"] == code, msg
    # docked at home with a full tank: no ration, no recall, no rescue
    for msg, ref in (
        ({"t": "ration", "ship": a.ship, "rid": "r2"}, "r2"),
        ({"t": "recall", "ship": a.ship, "rid": "r3", "confirm": True}, "r3"),
        ({"t": "rescue", "ship": a.ship, "op": "take", "kind": "tow"}, "rescue"),
        ({"t": "rescue", "ship": a.ship, "op": "cancel"}, "rescue"),
    ):
        await a.send(msg)
        await pump_until([a], lambda ref=ref: bool(a.errors(ref)))
        assert a.errors(ref)[-1] in ("NOT_AVAILABLE", "DOCKED"), msg
    await a.close()


async def test_a_request_cut_short_by_its_socket_leaves_no_coroutine_unawaited(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """A mission message and at once the socket's close: the gateway cancels the request
    before it starts, and its work (a coroutine made when the message was handled) must be
    closed, not dropped unawaited (a RuntimeWarning at teardown before the fix)."""
    a = await mission_player(live, http, "Brief")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await a.send({"t": "rescue", "ship": a.ship, "op": "cancel"})
        await a.close()
        for _ in range(25):  # the server reads the close and cancels the session's requests
            await asyncio.sleep(0.02)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]


async def test_a_stranded_pilot_is_rescued_by_another_player_with_fuel(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await mission_player(live, http, "Drifter")
    b = await mission_player(live, http, "Samaritan")
    assert a.system and b.system and a.system["key"] == b.system["key"]  # one home
    await undock(a)
    await undock(b)
    empty_tank(live, a)
    await pump_until([a, b], lambda: a.status.get("fuel") == 0 and a.status.get("ways_out"))
    assert "call_rescue" in a.status["ways_out"] and a.status["ways_out"][-1] == "recall_home"

    await a.send({"t": "distress", "ship": a.ship})
    await pump_until([a, b], lambda: bool(a.of("rescue_offers")))
    offers = {o["kind"]: o for o in a.last("rescue_offers")["offers"]}
    assert set(offers) == {"fuel", "tow"} and offers["fuel"]["affordable"]
    credits = a.status["credits"]
    await a.send({"t": "rescue", "ship": a.ship, "op": "take", "kind": "fuel"})
    await pump_until(
        [a, b], lambda: bool(a.of("rescue", event="posted")) and bool(b.of("rescue_call"))
    )
    call = b.last("rescue_call")
    fee = call["contract"]["reward"]
    assert fee == offers["fuel"]["fee"]
    await pump_until([a, b], lambda: a.status["credits"] == credits - offers["fuel"]["pilot_pays"])

    b_credits = b.status["credits"]
    await b.send({"t": "accept", "ship": b.ship, "contract": call["contract"]["id"]})
    await pump_until(
        [a, b],
        lambda: bool(b.of("mission", event="accepted")) and bool(a.of("rescue", event="answered")),
    )
    x, y = call["x"], call["y"]
    await b.send({"t": "autopilot", "ship": b.ship, "to": {"kind": "point", "x": x + 120, "y": y}})
    await pump_until([a, b], lambda: bool(b.of("mission", event="completed")), timeout=150)
    await pump_until([a, b], lambda: bool(a.of("rescue", event="done")))
    assert a.last("rescue")["by"] == "Samaritan"
    await pump_until(
        [a, b], lambda: a.status["fuel"] > 0 and b.status["credits"] >= b_credits + fee
    )
    assert not a.status.get("ways_out")
    await a.close()
    await b.close()


async def test_nobody_comes_so_the_station_tows_and_the_recall_goes_home(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await mission_player(live, http, "Castaway")
    await undock(a)
    home = a.system["stations"][a.welcome["home_station"]]
    d = math.hypot(home["x"], home["y"])
    out = (home["x"] + home["x"] / d * 4000, home["y"] + home["y"] / d * 4000)
    await a.send(
        {"t": "autopilot", "ship": a.ship, "to": {"kind": "point", "x": out[0], "y": out[1]}}
    )
    await pump_until(
        [a], lambda: any(e["kind"] == "autopilot_arrived" for e in a.events), timeout=120
    )
    empty_tank(live, a)
    await a.send({"t": "rescue", "ship": a.ship, "op": "offers"})
    await pump_until([a], lambda: bool(a.of("rescue_offers")))
    tow = next(o for o in a.last("rescue_offers")["offers"] if o["kind"] == "tow")
    credits = a.status["credits"]
    await a.send({"t": "rescue", "ship": a.ship, "op": "take", "kind": "tow"})
    await pump_until([a], lambda: bool(a.of("rescue", event="posted")))
    eta = a.last("rescue")["tug_eta_s"]
    assert 20 <= eta <= 90
    await pump_until([a], lambda: bool(a.of("rescue", event="done")), timeout=eta + 30)
    assert a.last("rescue")["by"] == "station"
    await pump_until([a], lambda: a.docked)
    station = a.system["stations"][tow["to"]["station"]]
    assert math.dist(a.pos, (station["x"], station["y"])) < 1.0
    assert a.status["credits"] == credits - tow["pilot_pays"]

    # the recall: the terms first, then home with a ration of fuel, paid from the credits
    await a.send({"t": "recall", "ship": a.ship, "rid": "home-1", "confirm": False})
    await pump_until([a], lambda: bool(a.of("recall_offer")) or bool(a.errors("home-1")))
    if a.errors("home-1"):  # the tow brought us home already: nothing to recall
        assert a.errors("home-1") == ["NOT_AVAILABLE"]
    else:
        terms = a.last("recall_offer")
        assert terms["fee"] >= 500 and not terms["insured"]
        before = a.status["credits"]
        await a.send({"t": "recall", "ship": a.ship, "rid": "home-2", "confirm": True})
        await pump_until([a], lambda: bool(a.of("recalled")))
        assert a.of("receipt", rid="home-2")[0]["kind"] == "recall"
        await pump_until([a], lambda: a.status["credits"] == before - terms["credits"])
        await pump_until([a], lambda: a.status["fuel"] >= 25)
    await a.close()
