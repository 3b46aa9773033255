"""Any OpenAI-compatible chat-completions endpoint (llama.cpp server, Ollama, vLLM, OpenAI).

`OpenAIChatBackend("http://127.0.0.1:8080")` posts to `<url>/v1/chat/completions` (a URL that
already ends in `/v1` or `/chat/completions` is used as given) with `response_format` asking
for a JSON object (`json_mode="schema"` sends the JSON schema itself, which llama.cpp, vLLM and
OpenAI enforce; "off" sends neither). The whole request is bounded by `timeout` seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from callister.agents.llm.base import LLMBackend, LLMError, LLMTimeout


def chat_url(url: str) -> str:
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


class OpenAIChatBackend(LLMBackend):
    """A client for one endpoint; reuse it (it keeps one aiohttp session). `close()` when done."""

    def __init__(
        self,
        url: str,
        *,
        model: str = "local",
        api_key: str | None = None,
        timeout: float = 10.0,
        json_mode: str = "object",
    ) -> None:
        if json_mode not in ("object", "schema", "off"):
            raise ValueError("json_mode must be 'object', 'schema' or 'off'")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.url = chat_url(url)
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.json_mode = json_mode
        self.name = f"openai-compatible {self.url} ({model})"
        self._session: aiohttp.ClientSession | None = None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _complete(self, request: dict[str, Any], schema: Mapping[str, Any] | None) -> str:
        body: dict[str, Any] = {"model": self.model, **request, "stream": False}
        if schema is not None and self.json_mode == "object":
            body["response_format"] = {"type": "json_object"}
        elif schema is not None and self.json_mode == "schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(schema), "strict": True},
            }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        session = await self._get_session()
        try:
            async with session.post(
                self.url,
                data=json.dumps(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                text = await resp.text()
                if resp.status != 200:
                    raise LLMError(f"{self.url} answered HTTP {resp.status}: {text[:200]}")
        except TimeoutError:
            raise LLMTimeout(f"{self.url} did not answer within {self.timeout} s") from None
        except aiohttp.ClientError as exc:
            raise LLMError(f"{self.url}: {exc}") from None
        try:
            data = json.loads(text)
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(f"{self.url} did not answer in the chat-completions format") from None
        if not isinstance(content, str):
            raise LLMError(f"{self.url} answered with no text content")
        return content

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
