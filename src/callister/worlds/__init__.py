"""Many worlds: world rules, who may enter, placing characters, and the kill switch's deletion
job. Pure logic over the store (no asyncio, no server): the server (server/world_host.py) and
the CLI (`callister admin world ...`) both drive it. See docs/worlds.md."""

from callister.worlds.killswitch import DeletionPlan, run_deletion
from callister.worlds.placement import home_placement, home_systems
from callister.worlds.policy import (
    Access,
    KillSwitch,
    access,
    approve_deletion,
    gm_refusal,
    request_deletion,
    two_person_rule,
    visible_worlds,
)
from callister.worlds.rules import WorldRules

__all__ = [
    "Access",
    "DeletionPlan",
    "KillSwitch",
    "WorldRules",
    "access",
    "approve_deletion",
    "gm_refusal",
    "home_placement",
    "home_systems",
    "request_deletion",
    "run_deletion",
    "two_person_rule",
    "visible_worlds",
]
