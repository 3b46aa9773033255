"""`callister bench speech` against the stand-in model provider of tests/fake_llm.py
(a real HTTP server speaking the OpenAI chat-completions API): the report's fields and counts."""

from __future__ import annotations

import asyncio
import json

import pytest

from callister.bench.speech import run_speech_bench

from ..fake_llm import FakeModel
from ..server.test_speech import provider  # noqa: F401  (the fixture)


async def test_the_speech_bench_reports_accepted_replies_and_fallbacks(
    provider: tuple[str, FakeModel],  # noqa: F811
) -> None:
    url, p = provider
    p.content = json.dumps({"say": "Rook Varga hit us twice. I'd rather not meet him again."})
    out = await asyncio.to_thread(run_speech_bench, llm_url=url, model="stand-in", replies=8)
    assert out["replies"] == 8 and len(p.requests) == 8
    # the same words to the same captain are refused after the first time per clone (4 clones)
    assert out["accepted"] == 4 and out["fallbacks"] == {"invalid": 4}
    assert out["accepted_fraction"] == 0.5
    assert 0 <= out["latency_s"]["p50"] <= out["latency_s"]["max"]
    assert out["samples"][0]["source"] == "llm" and out["backend"].startswith("openai")


def test_the_speech_bench_refuses_bad_arguments() -> None:
    from argparse import Namespace

    from callister.cli.bench_cmd import run_speech

    args = Namespace(model_path="", llm_url="", model="x", replies=0, threads=1, json=True)
    with pytest.raises(ValueError, match="--replies"):
        run_speech(args)
    with pytest.raises(ValueError, match="threads"):
        run_speech(Namespace(**{**vars(args), "replies": 1, "threads": 0}))
