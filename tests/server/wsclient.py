"""Test helpers: real WebSocket players built on the bots' client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from callister.bots.client import Bot
from callister.protocol.limits import MAX_ENTITY_ID

# server -> client fields that carry an entity or account id: JSON numbers (docs/protocol.md,
# "Ids in JSON"); clone ids (>= 2**61) are decimal strings
ID_KEYS = frozenset({"ship", "target", "wreck", "victim", "follow", "by_ship", "account"})
CLONE_LISTS = frozenset({"crew", "candidates"})


def wire_id_errors(value: Any, path: str = "", clones: bool = False) -> list[str]:
    """Where a server message breaks the id rules: entity and account ids must be JSON numbers
    (or null) below 2**53, clone ids decimal strings."""
    errors: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            errors += wire_id_errors(item, f"{path}[{i}]", clones)
        return errors
    if not isinstance(value, dict):
        return errors
    for key, item in value.items():
        where = f"{path}.{key}"
        if key in ID_KEYS and not isinstance(item, dict | list):
            if item is not None and not _is_id(item):
                errors.append(f"{where} = {item!r} is not an id number")
        elif key == "id" and (clones or value.get("kind") == "clone"):
            if not (isinstance(item, str) and item.isdigit()):
                errors.append(f"{where} = {item!r} is not a clone id string")
        elif key == "id" and path.split(".")[-1].split("[")[0] in ("ents", "members", "target"):
            if not _is_id(item):
                errors.append(f"{where} = {item!r} is not an id number")
        elif key == "clone" and item is not None and not isinstance(item, dict):
            if not (isinstance(item, str) and item.isdigit()):
                errors.append(f"{where} = {item!r} is not a clone id string")
        else:
            errors += wire_id_errors(item, where, clones or key in CLONE_LISTS)
    return errors


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ENTITY_ID


class CheckedBot(Bot):
    """A bot that fails the test on any JSON message breaking the wire's id rules. It also
    keeps the jump gates of the last `system` message (`gates`) and the server tick of each
    `pong` (`pongs`: n -> tick)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gates: list[dict[str, Any]] = []
        self.pongs: dict[int, int] = {}

    def _on_frame(self, data: str | bytes) -> None:
        if isinstance(data, str):
            msg = json.loads(data)
            errors = wire_id_errors(msg, str(msg.get("t")))
            assert not errors, errors
            if msg.get("t") == "system":
                self.gates = msg["gates"]
            elif msg.get("t") == "pong":
                self.pongs[msg["n"]] = msg["tick"]
        super()._on_frame(data)


def on_json(bot: Bot, keep: Callable[[dict[str, Any]], None]) -> None:
    """From now on, hand every JSON message `bot` receives to `keep` (before the bot itself)."""
    inner = bot._on_frame

    def spy(data: str | bytes) -> None:
        if isinstance(data, str):
            keep(json.loads(data))
        inner(data)

    bot._on_frame = spy  # type: ignore[method-assign]


def record(bot: Bot, *kinds: str) -> dict[str, list[dict[str, Any]]]:
    """Keep the bot's messages of these types (the bot itself ignores them)."""
    seen: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}

    def keep(msg: dict[str, Any]) -> None:
        if msg.get("t") in seen:
            seen[msg["t"]].append(msg)

    on_json(bot, keep)
    return seen


def capture(bot: Bot) -> list[dict[str, Any]]:
    """Every JSON message `bot` receives from now on (the Bot keeps only some kinds)."""
    seen: list[dict[str, Any]] = []
    on_json(bot, seen.append)
    return seen


async def player(live: Any, http: aiohttp.ClientSession, name: str) -> CheckedBot:
    """Register `name` and connect it (full view tracked; every message's ids checked)."""
    bot = CheckedBot(live.http, live.ws, name, session=http, track_view=True, jump_every_s=0)
    await bot.register()
    await bot.connect()
    return bot


async def server_tick(bot: CheckedBot) -> int:
    """The server's tick now (a ping's answer): game time, whatever the machine's load."""
    n = len(bot.pongs) + 1
    await bot.send({"t": "ping", "n": n})
    await pump_until([bot], lambda: n in bot.pongs)
    return bot.pongs[n]


async def pump_until(bots: list[Bot], cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Receive on every bot until `cond()` holds; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.gather(*(b.pump(0.05) for b in bots))


async def undock(*bots: Bot) -> None:
    """Undock every bot's ship and receive until all of them are in space."""
    for bot in bots:
        await bot.send({"t": "undock", "ship": bot.ship})
    await pump_until(list(bots), lambda: not any(bot.docked for bot in bots))


async def cheapest_goods(bot: Bot) -> dict[str, Any]:
    """The cheapest goods on the market of the bot's station (the market asked for and
    received; it stays in `bot.market`)."""
    await bot.send({"t": "market", "ship": bot.ship})
    await pump_until([bot], lambda: bot.market is not None)
    assert bot.market is not None
    return min(bot.market["items"], key=lambda i: i["buy"])  # type: ignore[no-any-return]


async def buy_cheapest(bot: Bot, qty: int) -> dict[str, Any]:
    """Buy `qty` of the cheapest goods at the bot's station (cargo to lose); those goods."""
    item = await cheapest_goods(bot)
    receipt, code = await bot.request(
        {"t": "trade", "item": item["key"], "qty": qty, "side": "buy"}
    )
    assert code is None and receipt is not None
    return item


async def raw_socket(
    live: Any, http: aiohttp.ClientSession, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(live.ws, max_msg_size=1 << 20)
    await ws.send_str(json.dumps({"t": "hello", "token": token, "v": 1}))
    return ws


async def next_json(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5.0
) -> dict[str, Any]:
    """Skip frames until a JSON message of type `kind` arrives."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, end - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(msg.data)
            if data.get("t") == kind:
                return data  # type: ignore[no-any-return]
        elif msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        ):
            raise AssertionError(f"socket closed ({ws.close_code}) while waiting for {kind}")


async def close_code(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> int | None:
    """Read until the server closes; the code from its close frame (aiohttp may report 1006
    once the transport is gone, so the frame is the reliable source)."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, end - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        if msg.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.ERROR,
        ):
            return ws.close_code
