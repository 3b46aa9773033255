"""The commands (server/commands.py): one decoded message in, one effect out, on a live world.

A command is given a sender with no socket at all (`Caller`), so a command that wrote to a
socket or a session would fail here; what moderation should know comes out as events on the
world's bus (moderation/feeds.py), which these tests subscribe to like the evidence writer and
moderation do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import player, pump_until
from tests.waiting import until

from callister.bots.client import Bot
from callister.moderation import feeds
from callister.protocol.errors import ErrorCode
from callister.protocol.messages import (
    AckMsg,
    DistressMsg,
    FireMsg,
    Hello,
    MarketMsg,
    PingMsg,
    SpectateMsg,
    TargetMsg,
    TradeMsg,
)
from callister.server.commands import Acked, Answer, Camera, Request, Targeted
from callister.server.world import Pilot
from callister.store import Account


@dataclass
class Caller:
    """A sender as the commands see it: who, which pilot and ship; no socket."""

    account: Account
    pilot: Pilot | None
    ship_id: int
    spectator: bool = False


async def _caller(live: LiveServer, bot: Bot) -> Caller:
    """The commands' view of a connected bot's player."""
    account_id = int(bot.welcome["account"])
    pilot = live.services.world.pilots[account_id]
    account = Account(account_id, bot.name, "", "player", 0.0)
    return Caller(account, pilot, pilot.character.ship_id)


async def _offline(live: LiveServer, http: aiohttp.ClientSession, name: str) -> Caller:
    """A player whose socket is closed (its ship stays for the reconnect grace): commands
    need no socket."""
    bot = await player(live, http, name)
    caller = await _caller(live, bot)
    await bot.close()
    return caller


def _heard(live: LiveServer, subject: str) -> list[Any]:
    heard: list[Any] = []
    live.services.world.bus.subscribe(subject, heard.append)
    return heard


async def _answer(effect: object) -> Answer:
    assert isinstance(effect, Request), effect
    answer = await effect.work
    assert answer is not None
    return answer


async def test_view_messages_become_view_effects(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    commands = live.services.gateway.commands
    ada = await _offline(live, http, "Ada")
    assert commands.handle(ada, AckMsg(seq=7)) == Acked(7)
    assert commands.handle(ada, TargetMsg(ship=ada.ship_id, target=42)) == Targeted(42)
    pong = json.loads(str(commands.handle(ada, PingMsg(n=3))))
    assert pong["t"] == "pong" and pong["n"] == 3 and isinstance(pong["tick"], int)
    again = json.loads(str(commands.handle(ada, Hello(token="x", v=1))))
    assert again == {"t": "error", "code": "BAD_FIELD", "message": "already authenticated"}
    # a player is no spectator, and a spectator commands no ship
    forbidden = json.loads(str(commands.handle(ada, SpectateMsg(follow=0, sector=None, at=None))))
    assert forbidden["code"] == "FORBIDDEN"
    watcher = Caller(ada.account, None, 0, spectator=True)
    shipless = json.loads(str(commands.handle(watcher, MarketMsg(ship=1))))
    assert shipless["code"] == "NOT_IN_WORLD"
    camera = commands.handle(watcher, SpectateMsg(follow=ada.ship_id, sector=None, at=None))
    assert camera == Camera(ada.pilot.zone_key if ada.pilot else None, ada.ship_id, None)


async def test_a_trade_is_a_request_answered_with_its_receipt(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    commands = live.services.gateway.commands
    replays = _heard(live, feeds.RECEIPT_REPLAYED)
    ada = await _offline(live, http, "Trader")
    market = json.loads((await _answer(commands.handle(ada, MarketMsg(ship=ada.ship_id)))).text)
    item = min(market["items"], key=lambda i: i["buy"])
    buy = TradeMsg(ship=ada.ship_id, rid="r-1", item=item["key"], qty=1, side="buy")
    answer = await _answer(commands.handle(ada, buy))
    receipt = json.loads(answer.text)
    assert answer.status_changed and receipt["t"] == "receipt" and receipt["rid"] == "r-1"
    assert receipt["ok"] and not receipt["replay"] and receipt["cargo"] == {item["key"]: 1}
    assert not replays
    # the same rid asking for more: the first receipt, and the replay goes to moderation
    more = TradeMsg(ship=ada.ship_id, rid="r-1", item=item["key"], qty=5, side="buy")
    replayed = json.loads((await _answer(commands.handle(ada, more))).text)
    assert replayed["replay"] and replayed["cargo"] == receipt["cargo"]
    assert len(replays) == 1 and isinstance(replays[0], feeds.ReceiptReplayed)
    assert replays[0].asked == more and replays[0].receipt.rid == "r-1"
    assert replays[0].account == ada.account.id


async def test_suspicions_are_published_and_written_as_evidence(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = live.services.world
    commands = live.services.gateway.commands
    seen, refused = _heard(live, feeds.EVIDENCE), _heard(live, feeds.REQUEST_REFUSED)
    ada = await _offline(live, http, "Shifty")
    other = ada.ship_id + 1000
    error = json.loads(str(commands.handle(ada, FireMsg(ship=other, slot=0, target=0))))
    assert error["code"] == "NOT_YOUR_SHIP"
    assert seen == [
        feeds.Suspicion(
            ada.account.id,
            "NOT_YOUR_SHIP",
            "fire",
            {"ship": other, "own_ship": ada.ship_id, "source": "gateway"},
        )
    ]
    # more than the player can pay for: refused, published, and written as evidence
    market = json.loads((await _answer(commands.handle(ada, MarketMsg(ship=ada.ship_id)))).text)
    item = max(market["items"], key=lambda i: i["buy"])
    qty = market["credits"] // item["buy"] + 1
    buy = TradeMsg(ship=ada.ship_id, rid="t-1", item=item["key"], qty=qty, side="buy")
    answer = json.loads((await _answer(commands.handle(ada, buy))).text)
    assert answer["t"] == "error" and answer["ref"] == "t-1"
    assert answer["code"] == "INSUFFICIENT_FUNDS"
    assert refused == [
        feeds.RequestRefused(ada.account.id, "t-1", ErrorCode.INSUFFICIENT_FUNDS, answer["message"])
    ]

    async def rows() -> list[Any]:
        found = await world.writer.call(
            world.store.moderation.list_evidence, world.name, ada.account.id
        )
        return found if len(found) == 2 else []

    written = {e.code: e for e in await until(rows, "the evidence rows")}
    assert written["NOT_YOUR_SHIP"].action == "fire"
    assert written["NOT_YOUR_SHIP"].detail == seen[0].detail
    assert written["INSUFFICIENT_FUNDS"].action == "purchase"
    assert written["INSUFFICIENT_FUNDS"].detail == {"rid": "t-1", "why": answer["message"]}


async def test_a_distress_call_is_published_once_per_window(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    commands = live.services.gateway.commands
    calls = _heard(live, feeds.DISTRESS)
    bot = await player(live, http, "Help")
    await pump_until([bot], lambda: bot.system is not None)
    ada = await _caller(live, bot)
    pilot = ada.pilot
    assert pilot is not None
    offers = commands.handle(ada, DistressMsg(ship=ada.ship_id))
    assert isinstance(offers, Request)  # the caller hears its rescue offers (issue 16)
    answer = await offers.work
    assert answer is not None and json.loads(answer.text)["t"] == "rescue_offers"
    assert len(calls) == 1 and isinstance(calls[0], feeds.DistressCall)
    assert calls[0].caller == "Help" and calls[0].ship == ada.ship_id
    assert calls[0].zone == pilot.zone_key
    # the fan-out told every socket in the system, the caller's too
    await pump_until([bot], lambda: any(e.get("kind") == "distress" for e in bot.events))
    again = json.loads(str(commands.handle(ada, DistressMsg(ship=ada.ship_id))))
    assert again["code"] == "RATE_LIMITED" and again["ref"] == "distress"
    assert len(calls) == 1
    await bot.close()
