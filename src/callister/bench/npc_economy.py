"""The NPC economy adapter lives in `server/npc_economy.py` (the server runs it); the
benchmark imports it from there. Kept so older imports keep working."""

from callister.server.npc_economy import WRECK_TTL_S, NpcEconomy, market_view

__all__ = ["WRECK_TTL_S", "NpcEconomy", "market_view"]
