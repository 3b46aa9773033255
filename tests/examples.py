"""The project's example content, as the docs walk an operator through it."""

from __future__ import annotations

from pathlib import Path

# the modding guide's example pack (a hull, a weapon and smugglers): a real, valid pack
FRONTIER_PACK = Path(__file__).parents[1] / "docs" / "examples" / "frontier"
