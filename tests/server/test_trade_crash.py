"""A real server process under trading load is killed with SIGKILL mid-trade. After a restart,
every trade a player was told of is in the ledger exactly once, retried requests are answered
from the ledger instead of being repeated, and the books balance. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.server.test_restart import env
from tests.server.wsclient import pump_until

from callister.bench.net import free_port, start_server
from callister.bots.client import Bot
from callister.content import load_content
from callister.economy import Economy
from callister.store import open_store

TRADERS = 6


async def trade_forever(bot: Bot, told: dict[str, dict[str, Any]], sent: list[str]) -> None:
    """Buy and sell the cheapest goods as fast as answers come back; remember every receipt."""
    await bot.send({"t": "market", "ship": bot.ship})
    await pump_until([bot], lambda: bot.market is not None)
    assert bot.market is not None
    items = sorted(bot.market["items"], key=lambda i: i["buy"])[:3]
    rng = random.Random(bot.name)
    holding: dict[str, int] = {}
    while True:
        item = rng.choice(items)["key"]
        side = "sell" if holding.get(item, 0) > 0 and rng.random() < 0.5 else "buy"
        rid = bot.next_rid()
        sent.append(rid)
        receipt, _ = await bot.request(
            {"t": "trade", "rid": rid, "item": item, "qty": 1, "side": side}, timeout=30
        )
        if receipt is not None:
            told[rid] = receipt
            holding = dict(receipt["cargo"])


@pytest.mark.slow
async def test_sigkill_mid_trading_loses_no_told_trade(store_url: str, tmp_path: Path) -> None:
    port = free_port()
    base, ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws"
    server = start_server(port, store_url, env(), tmp_path / "s1.log")
    told: dict[str, dict[str, dict[str, Any]]] = {}
    sent: dict[str, list[str]] = {}
    try:
        async with aiohttp.ClientSession() as http:
            bots = [
                Bot(base, ws, f"Trader{i}", session=http, jump_every_s=0) for i in range(TRADERS)
            ]
            for bot in bots:
                await bot.register()
                await bot.connect()
                told[bot.name], sent[bot.name] = {}, []
            tasks = [
                asyncio.ensure_future(trade_forever(b, told[b.name], sent[b.name])) for b in bots
            ]
            # let the trading get going, then pull the plug in the middle of it
            while sum(len(t) for t in told.values()) < 60:
                await asyncio.sleep(0.05)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            await asyncio.gather(*tasks, return_exceptions=True)
            total_told = sum(len(t) for t in told.values())
            assert total_told >= 60
            in_flight = sum(len(s) for s in sent.values()) - total_told
            assert in_flight >= 1  # the kill did land in the middle of trading

            # the ledger, read straight from the database the dead server left
            with open_store(store_url) as store:
                for bot in bots:
                    for rid, receipt in told[bot.name].items():
                        account = int(bot.welcome["account"])
                        txn = store.ledger.get_txn("infinity", f"trade:{account}:{rid}")
                        assert txn is not None, f"told trade {rid} is missing"
                        assert txn.id == receipt["txn"]
                    # each request id is one transaction at most: no trade was doubled
                    account = int(bot.welcome["account"])
                    ids = [
                        store.ledger.get_txn("infinity", f"trade:{account}:{r}")
                        for r in sent[bot.name]
                    ]
                    committed = [t.id for t in ids if t is not None]
                    assert len(committed) == len(set(committed))

            # restart; every trader retries the request that was in flight: it is answered
            # from the ledger if it had committed, carried out once if it had not
            server = start_server(port, store_url, env(), tmp_path / "s2.log")
            for bot in bots:
                await bot.connect()
                last = sent[bot.name][-1]
                bot.receipts.pop(last, None)
                bot.refused.pop(last, None)
                item_msg = {"t": "trade", "rid": last, "item": "food", "qty": 1, "side": "buy"}
                await bot.request(item_msg, timeout=30)
            with open_store(store_url) as store:
                for bot in bots:
                    account = int(bot.welcome["account"])
                    txn = store.ledger.get_txn("infinity", f"trade:{account}:{sent[bot.name][-1]}")
                    assert txn is not None
            for bot in bots:
                await bot.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0
        with open_store(store_url) as store:
            audit = Economy(store, load_content(), "infinity").audit()
            assert audit["balanced"], audit["problems"]
    finally:
        if server.poll() is None:
            server.kill()
