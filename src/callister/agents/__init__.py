"""Clones: crews and NPCs that are persistent autonomous agents (players without sockets).

No I/O and no asyncio here, except the language-model backends (`agents.llm`) and the JSON-file
clone repository (`repository.py`). Start with `Clone` (model.py), `AgentPool` (pool.py: the
server's entry point), `DefaultMind` (mind.py: one clone), `to_intents` (intents.py), and for the
living universe `Planner` (planner.py), `OffscreenSim` (offscreen.py), `Knowledge` and
`gossip` (knowledge.py, gossip.py); then `docs/agents.md`.
"""

from callister.agents.atlas import Atlas
from callister.agents.decide import Action, Decision, Kind, clone_rng, kind_of
from callister.agents.dialogue import Reply, origin_story, template_reply
from callister.agents.errors import AgentError, CloneDead, ProfileError
from callister.agents.gossip import gossip
from callister.agents.intents import steer, to_intents
from callister.agents.knowledge import Knowledge
from callister.agents.memory import Memory, MemoryKind, MemoryStream
from callister.agents.mind import AgentState, DefaultMind, notice
from callister.agents.model import (
    Clone,
    CrewModifiers,
    Goal,
    Goals,
    Licence,
    Lineage,
    LineageEvent,
    Mood,
    Personality,
    Profile,
    Relationship,
    Relationships,
    Role,
    Skills,
    crew_modifiers,
)
from callister.agents.observe import (
    Contact,
    Observation,
    Pose,
    SeenEvent,
    Stance,
    Vitals,
    ZoneStatics,
    ZoneView,
)
from callister.agents.offscreen import OffscreenSim
from callister.agents.orders import Order, parse_order
from callister.agents.planner import Planner
from callister.agents.pool import AgentPool, Cadence, StepStats, stance_for
from callister.agents.reflection import reflect

__all__ = [
    "Action",
    "AgentError",
    "AgentPool",
    "AgentState",
    "Atlas",
    "Cadence",
    "Clone",
    "CloneDead",
    "Contact",
    "CrewModifiers",
    "Decision",
    "DefaultMind",
    "Goal",
    "Goals",
    "Kind",
    "Knowledge",
    "Licence",
    "Lineage",
    "LineageEvent",
    "Memory",
    "MemoryKind",
    "MemoryStream",
    "Mood",
    "Observation",
    "OffscreenSim",
    "Order",
    "Personality",
    "Planner",
    "Pose",
    "Profile",
    "ProfileError",
    "Relationship",
    "Relationships",
    "Reply",
    "Role",
    "SeenEvent",
    "Skills",
    "Stance",
    "StepStats",
    "Vitals",
    "ZoneStatics",
    "ZoneView",
    "clone_rng",
    "crew_modifiers",
    "gossip",
    "kind_of",
    "notice",
    "origin_story",
    "parse_order",
    "reflect",
    "stance_for",
    "steer",
    "template_reply",
    "to_intents",
]
