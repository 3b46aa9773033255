"""Zone load generated inside a worker, for `callister bench cluster` (no sockets, so bots do
not compete with the workers for the cores). Requests arrive on ``cl.bench.<worker>``."""

from __future__ import annotations

import json
from typing import Any


async def handle(worker: Any, msg: Any) -> None:
    if msg.reply:
        await msg.respond(json.dumps({"ok": False, "error": "not implemented yet"}).encode())
