"""A stand-in language-model provider for tests: a real local aiohttp server speaking the
OpenAI chat-completions API (`POST /v1/chat/completions`), as llama.cpp's `llama-server`,
Ollama, vLLM or a hosted API do, so the code under test cannot tell the difference.

Set the fields of the `FakeChatModel` to choose the next answer (good, slow, garbage, an HTTP
error) and read what the provider saw. tests/agents/test_llm.py drives a clone's mind with it,
tests/server/test_speech.py the server's crew speech.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeChatModel:
    """What the stand-in answers next: `content` (the assistant text), or `raw` (the whole
    response body, verbatim), or a `status` other than 200, after waiting `delay` seconds.
    It records every request body and its headers, and how many requests it holds at once
    (`holding`, and the most ever: `peak`)."""

    content: str = '{"say": "Hello."}'
    status: int = 200
    delay: float = 0.0
    raw: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    holding: int = 0
    peak: int = 0


MODEL = web.AppKey("model", FakeChatModel)


async def _completions(request: web.Request) -> web.Response:
    model = request.app[MODEL]
    body = await request.json()
    model.requests.append(body)
    model.headers.append(dict(request.headers))
    model.holding += 1
    model.peak = max(model.peak, model.holding)
    try:
        if model.delay:
            await asyncio.sleep(model.delay)
    finally:
        model.holding -= 1
    if model.status != 200:
        return web.Response(status=model.status, text="model unavailable")
    if model.raw is not None:
        return web.Response(text=model.raw, content_type="application/json")
    return web.json_response(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": model.content},
                    "finish_reason": "stop",
                }
            ],
        }
    )


@asynccontextmanager
async def chat_server(model: FakeChatModel) -> AsyncIterator[str]:
    """Serve `model` on a free local port for the duration; yields the base URL."""
    app = web.Application()
    app[MODEL] = model
    app.router.add_post("/v1/chat/completions", _completions)
    srv = TestServer(app, host="127.0.0.1", port=0)
    await srv.start_server()
    try:
        yield f"http://127.0.0.1:{srv.port}"
    finally:
        await srv.close()
