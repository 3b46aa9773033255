"""Missions: the guided start, the mission board, reputation, and the rules that leave no dead
ends (rescue, recall, the home ration, the services baseline).

Pure: no I/O, no asyncio, no clocks (callers pass `now`, wall-clock seconds). The server feeds
facts (`facts.py`) and reads back ledger requests to commit (`ledger.py`) and messages for the
client. Start with `progress.py` (the entry points), `board.py` (contracts from a snapshot of
the world) and `docs/missions.md`.
"""

from callister.missions.board import Market, Sighting, World, board, bucket_of, offers_of
from callister.missions.contracts import Active, Contract, Giver, Goal, MissionLog, Notice
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    Arrived,
    Crime,
    DockedAt,
    Fact,
    FuelOut,
    Killed,
    MinedOre,
    Near,
    Pilot,
    Position,
    ShipLost,
    Traded,
    UndockedFrom,
    Victim,
    WatchedDocked,
    WatchedLost,
    from_zone_event,
)
from callister.missions.ledger import LedgerRequest
from callister.missions.markers import Marker, Objective
from callister.missions.progress import Outcome, Progress, Watch, begin, lawful_of
from callister.missions.reputation import RANKS, Rank, Reputation, Terms, terms
from callister.missions.rescue import (
    FuelWarning,
    Haven,
    RecallTerms,
    RescueOffer,
    Responder,
    Situation,
    dead_end,
    fuel_warning,
    progress_actions,
    recall_terms,
    rescue_offers,
)
from callister.missions.services import home_problems, with_baseline
from callister.missions.tutorial import STEPS, Tutorial, TutorialPlan, plan_tutorial

__all__ = [
    "RANKS",
    "STEPS",
    "Active",
    "Arrived",
    "Contract",
    "Crime",
    "DockedAt",
    "Fact",
    "FuelOut",
    "FuelWarning",
    "Giver",
    "Goal",
    "Haven",
    "Killed",
    "LedgerRequest",
    "Marker",
    "Market",
    "MinedOre",
    "MissionDataError",
    "MissionError",
    "MissionLog",
    "Near",
    "Notice",
    "Objective",
    "Outcome",
    "Pilot",
    "Position",
    "Progress",
    "Rank",
    "RecallTerms",
    "Reputation",
    "RescueOffer",
    "Responder",
    "ShipLost",
    "Sighting",
    "Situation",
    "Terms",
    "Traded",
    "Tutorial",
    "TutorialPlan",
    "UndockedFrom",
    "Victim",
    "Watch",
    "WatchedDocked",
    "WatchedLost",
    "World",
    "begin",
    "board",
    "bucket_of",
    "dead_end",
    "from_zone_event",
    "fuel_warning",
    "home_problems",
    "lawful_of",
    "offers_of",
    "plan_tutorial",
    "progress_actions",
    "recall_terms",
    "rescue_offers",
    "terms",
    "with_baseline",
]
