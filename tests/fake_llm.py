"""A stand-in language-model provider: a local aiohttp server speaking the OpenAI
chat-completions protocol (`POST /v1/chat/completions`), as llama.cpp's server, Ollama, vLLM or
a hosted API do. The clones' model path (tests/agents) and the server's crew speech
(tests/server, tests/bench) talk to it for real and cannot tell the difference.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class FakeModel:
    """What the stand-in answers next: `content` (the assistant text), or `raw` (a response body
    sent as it is), or a `status` (an HTTP error), after `delay` seconds. What it saw: every
    request's body and headers, and the most requests it held at once (`peak`)."""

    content: str = '{"say": "Hello."}'
    status: int = 200
    delay: float = 0.0
    raw: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    holding: int = 0
    peak: int = 0


MODEL = web.AppKey("model", FakeModel)


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
        return web.Response(status=model.status, text="the model failed")
    if model.raw is not None:
        return web.Response(text=model.raw, content_type="application/json")
    return web.json_response(
        {
            "id": "chatcmpl-1",
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


@contextlib.asynccontextmanager
async def serving(model: FakeModel) -> AsyncIterator[str]:
    """`model` behind a local server for the block; its base URL."""
    app = web.Application()
    app[MODEL] = model
    app.router.add_post("/v1/chat/completions", _completions)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()
