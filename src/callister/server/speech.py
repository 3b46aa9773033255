"""Crew and NPC replies through the optional language model, off the tick, with templates as
the fallback and the default.

`SpeechModel.from_settings` makes one per world: no model (`llm_url` and `llm_model_path`
empty, the default) answers every line from templates (`agents.dialogue`), at once. With a
model, `reply` is a coroutine the server runs as a task, never inside the tick: it waits for
one of `llm_concurrency` slots (at most `llm_queue` replies wait; past that the template
answers at once, counted `busy`), asks the model with the clone's retrieved memories and
beliefs (`LLMMind.reply`), and within `llm_timeout_s` uses the answer if it passes the
checks; a timeout, an error or a bad answer is logged and the template reply is said instead.
Orders are never sent to the model: they are game actions, applied at once by the caller.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from callister.agents import Action, Clone, Reply, template_reply
from callister.agents.decide import Kind
from callister.agents.dialogue import classify
from callister.agents.llm import LlamaCppBackend, LLMBackend, LLMMind, OpenAIChatBackend
from callister.agents.orders import parse_order
from callister.server.settings import Settings

log = logging.getLogger(__name__)


def backend_from_settings(
    settings: Settings, env: Mapping[str, str] | None = None
) -> LLMBackend | None:
    """The model the settings name (None: templates only). The API key is read from the
    environment variable `llm_api_key_env` names, never from the settings themselves."""
    env = os.environ if env is None else env
    if settings.llm_url:
        key = env.get(settings.llm_api_key_env, "") if settings.llm_api_key_env else ""
        return OpenAIChatBackend(
            settings.llm_url,
            model=settings.llm_model,
            api_key=key or None,
            timeout=settings.llm_timeout_s,
        )
    if settings.llm_model_path:
        return LlamaCppBackend(
            settings.llm_model_path,
            n_threads=settings.llm_threads,
            timeout=settings.llm_timeout_s,
        )
    return None


def is_order(message: str, tick: int) -> bool:
    """Whether the captain's line is an order (handled at once, never by the model)."""
    return classify(message) == "chat" and parse_order(message, tick) is not None


class SpeechModel:
    """See the module docstring. Loop-only (its coroutines run on the server's loop; an
    in-process model computes on a worker thread)."""

    def __init__(
        self,
        backend: LLMBackend | None = None,
        *,
        timeout: float = 8.0,
        concurrency: int = 2,
        queue: int = 16,
    ) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be >= 1 and queue >= 0")
        self.backend = backend
        self.mind = LLMMind(backend, timeout=timeout) if backend is not None else None
        self.concurrency = concurrency
        self.queue = queue
        self._slots = asyncio.Semaphore(concurrency)
        self.waiting = 0
        self.in_flight = 0
        self.peak = 0  # most requests in flight at once (the bound holds: tests)
        self.stats: Counter[str] = Counter()  # llm, template, busy, and the mind's reasons

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> SpeechModel:
        return cls(
            backend_from_settings(settings, env),
            timeout=settings.llm_timeout_s,
            concurrency=settings.llm_concurrency,
            queue=settings.llm_queue,
        )

    @property
    def enabled(self) -> bool:
        return self.mind is not None

    async def reply(
        self,
        clone: Clone,
        message: str,
        *,
        speaker: int,
        speaker_name: str = "",
        tick: int,
        allow_orders: bool = True,
        crew: Sequence[tuple[str, Kind]] = (),
        holder: str | None = None,
        possible: frozenset[Action] | None = None,
    ) -> Reply:
        """The clone's answer: the model's when it gives a good one in time, else the
        template's (`Reply.fallback` says why)."""
        # the same question, put to the template and to the model alike
        asked: dict[str, Any] = {
            "speaker": speaker,
            "speaker_name": speaker_name,
            "tick": tick,
            "allow_orders": allow_orders,
            "crew": crew,
            "holder": holder,
            "possible": possible,
        }

        def template(why: str | None) -> Reply:
            r = template_reply(clone, message, **asked)
            self.stats["template"] += 1
            if why is None:
                return r
            return Reply(r.clone, r.name, r.text, r.memories, "template", why, r.order)

        if self.mind is None or (allow_orders and is_order(message, tick)):
            return template(None)
        if self.waiting >= self.queue:
            self.stats["busy"] += 1
            log.warning(
                "language model busy: template reply",
                extra={"clone": clone.id, "waiting": self.waiting},
            )
            return template("busy: every model slot taken and the queue is full")
        self.waiting += 1
        entered = False
        try:
            async with self._slots:
                self.waiting -= 1
                entered = True
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                try:
                    r = await self.mind.reply(clone, message, **asked)
                finally:
                    self.in_flight -= 1
        finally:
            if not entered:  # cancelled while waiting for a slot
                self.waiting -= 1
        if r.fallback is not None:
            self.stats["template"] += 1
            log.error(
                "language model reply not used: %s",
                r.fallback,
                extra={"clone": clone.id, "backend": self.mind.backend.name},
            )
        else:
            self.stats["llm"] += 1
        return r

    async def close(self) -> None:
        if self.backend is not None:
            await self.backend.close()
