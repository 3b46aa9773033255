"""The backend interface, its errors, the output schemas and JSON extraction."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Final

from callister.agents.decide import Action

Message = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


class LLMError(Exception):
    """The model could not be asked or did not answer usefully."""


class LLMTimeout(LLMError):
    """No answer within the timeout."""


class LLMInvalid(LLMError):
    """An answer that is not JSON, does not match the schema, or breaks a game rule."""


class LLMBackend(ABC):
    """A chat model. `chat` returns the assistant's text (the caller parses and checks it).

    A backend answers one chat-completions request (`_complete`): the request body common to
    every backend (`messages`, `max_tokens`, `temperature`) is built here once, and the backend
    adds what its engine needs (a model name, a `response_format` for `schema`)."""

    name: str

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: Mapping[str, Any] | None = None,
        max_tokens: int = 200,
        temperature: float = 0.7,
    ) -> str:
        request: dict[str, Any] = {
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        return await self._complete(request, schema)

    @abstractmethod
    async def _complete(self, request: dict[str, Any], schema: Mapping[str, Any] | None) -> str:
        """The assistant's text for `request`; `schema` (when given) is the JSON schema the
        answer should match."""

    @abstractmethod
    async def close(self) -> None: ...


MOODS: Final = ["calm", "afraid", "angry", "cheerful", "gloomy"]

REPLY_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "properties": {
        "say": {"type": "string", "minLength": 1, "maxLength": 400},
        "mood": {"enum": MOODS},
    },
    "required": ["say"],
    "additionalProperties": False,
}

REFLECT_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "properties": {
        "beliefs": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "about": {"type": "integer"},
                    "text": {"type": "string", "minLength": 3, "maxLength": 200},
                    "hostile": {"type": "boolean"},
                },
                "required": ["about", "text"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["beliefs"],
    "additionalProperties": False,
}

PLAN_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "properties": {
        "action": {"enum": [a.name.lower() for a in Action]},
        "target": {"type": "integer"},
        "say": {"type": "string", "minLength": 1, "maxLength": 200},
    },
    "required": ["action", "say"],
    "additionalProperties": False,
}


def extract_json(text: str) -> Any:
    """The JSON object in a model's answer: the whole text, or the first {...} in it (models
    like to wrap JSON in prose or ``` fences). LLMInvalid when there is none."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        if text.startswith("json"):
            text = text[4:]
    try:
        return json.loads(text)
    except ValueError:
        pass
    start = text.find("{")
    while start >= 0:
        depth = 0
        in_str = False
        escape = False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                if escape:
                    escape = False
                elif ch == "\\":
                    escape = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    try:
                        return json.loads(text[start : i + 1])
                    except ValueError:
                        break
        start = text.find("{", start + 1)
    raise LLMInvalid(f"no JSON object in the answer: {text[:80]!r}")
