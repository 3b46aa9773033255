"""A pilot's progress — tutorial, contracts, reputation — as one value, and the entry points the
server calls.

`Progress` is stored per character as JSON (`to_dict` / `from_dict`, versioned) and survives
restarts. Every call is pure and returns an `Outcome`: the new progress, the ledger requests to
commit in order (each idempotent under its key), and the messages to send the pilot's client.
Call them on the store-writer thread with a `Pilot` read there, commit the requests, then save
the progress (docs/missions.md, "Server integration").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callister.content import Content
from callister.missions import contracts, rules, tutorial
from callister.missions._data import get_int, obj
from callister.missions.contracts import Change, Contract, MissionLog
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import Crime, Fact, Killed, Pilot
from callister.missions.ledger import LedgerRequest
from callister.missions.reputation import Reputation, crime_changes, kill_changes, rank_of
from callister.missions.tutorial import Tutorial, TutorialPlan
from callister.protocol.errors import ErrorCode

VERSION = 1


@dataclass(frozen=True, slots=True)
class Progress:
    """Everything missions-related a character carries: its tutorial (None: never started —
    a character made before tutorials, or a pilot who declined it), its mission log, its
    reputation, and when the patrol fund last paid a rescue for it (0: never)."""

    tutorial: Tutorial | None = None
    missions: MissionLog = field(default_factory=MissionLog)
    reputation: Reputation = field(default_factory=Reputation)
    fund_used_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with "version"."""
        return {
            "version": VERSION,
            "tutorial": None if self.tutorial is None else self.tutorial.to_dict(),
            "missions": self.missions.to_dict(),
            "reputation": self.reputation.to_dict(),
            "fund_used_at": self.fund_used_at,
        }

    @classmethod
    def from_dict(cls, value: object) -> Progress:
        """Read `to_dict` output back. MissionDataError for a newer version (upgrade the
        server) or a malformed field (named)."""
        d = obj(value, "progress")
        version = get_int(d, "version", "progress")
        if version > VERSION:
            raise MissionDataError(
                "progress.version",
                f"version {version} is newer than this server understands ({VERSION}): upgrade",
            )
        t = d.get("tutorial")
        return cls(
            None if t is None else Tutorial.from_dict(t, "progress.tutorial"),
            MissionLog.from_dict(d.get("missions", {}), "progress.missions"),
            Reputation.from_dict(d.get("reputation", {}), "progress.reputation"),
            get_int(d, "fund_used_at", "progress", 0),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a call: the new `progress`, `requests` to commit in order, `messages`
    for the client in order."""

    progress: Progress
    requests: tuple[LedgerRequest, ...] = ()
    messages: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Watch:
    """What the server must report for this pilot beyond their own ship's events:
    `positions` (a `Position` fact about once a second) and the `ships` to report on
    (`Near` about once a second, `WatchedDocked`, `WatchedLost`)."""

    positions: bool
    ships: frozenset[int]


def lawful_of(content: Content) -> dict[str, bool]:
    """faction -> lawful, from the content (the reputation rules need it)."""
    return {key: f.lawful for key, f in content.factions.items()}


def begin(plan: TutorialPlan | None, now: int) -> Progress:
    """A new character's progress, with its tutorial started (None: no tutorial)."""
    return Progress(None if plan is None else tutorial.start(plan, now))


def observe(
    progress: Progress, fact: Fact, pilot: Pilot, now: int, lawful: Mapping[str, bool]
) -> Outcome:
    """Apply one fact: reputation (crimes, kills), contracts (progress, completion, failure,
    deadlines), then the tutorial (the fact, and any contract pay as a profit)."""
    rep_changes: tuple[tuple[str, int], ...] = ()
    if isinstance(fact, Crime):
        rep_changes = crime_changes(fact.faction, lawful)
    elif isinstance(fact, Killed):
        rep_changes = kill_changes(fact.role, fact.faction, fact.wanted, lawful)
    change = contracts.observe(progress.missions, fact, pilot, now)
    return _finish(progress, change, pilot, now, fact, rep_changes)


def accept(progress: Progress, contract: Contract, pilot: Pilot, now: int) -> Outcome:
    """Take a contract the pilot read on a board (MissionError if refused)."""
    change = contracts.accept(progress.missions, contract, pilot, progress.reputation, now)
    return _finish(progress, change, pilot, now, None, (), accepted=True)


def abandon(progress: Progress, contract_id: str, pilot: Pilot, now: int) -> Outcome:
    """Give a contract up (MissionError if not held)."""
    change = contracts.abandon(progress.missions, contract_id, pilot, now)
    return _finish(progress, change, pilot, now, None, ())


def expire(progress: Progress, pilot: Pilot, now: int) -> Outcome:
    """Fail contracts past their deadline (call it every few seconds per online pilot, and on
    login: deadlines run while offline)."""
    change = contracts.expire(progress.missions, pilot, now)
    return _finish(progress, change, pilot, now, None, ())


def skip_tutorial(progress: Progress) -> Outcome:
    """Skip the tutorial (MissionError NOT_AVAILABLE if there is none or it is finished)."""
    t = _tutorial(progress)
    change = tutorial.skip(t)
    return Outcome(dataclasses.replace(progress, tutorial=change.tutorial), (), change.messages)


def resume_tutorial(progress: Progress) -> Outcome:
    """Resume a skipped tutorial where it stopped (MissionError NOT_AVAILABLE otherwise)."""
    t = _tutorial(progress)
    change = tutorial.resume(t)
    return Outcome(dataclasses.replace(progress, tutorial=change.tutorial), (), change.messages)


def watch(progress: Progress) -> Watch:
    """What to report for this pilot (see `Watch`)."""
    t = progress.tutorial
    positions = t is not None and not t.skipped and t.current == "fly"
    return Watch(positions, progress.missions.watched_ships())


def objectives(progress: Progress, now: int) -> dict[str, Any]:
    """The proposed `objectives` message: the HUD's whole list (on login and after a
    respawn; later changes come as `tutorial` and `mission` messages)."""
    t = progress.tutorial
    return {
        "t": "objectives",
        "tutorial": None if t is None else t.message(),
        "missions": [
            {
                "contract": a.contract.id,
                "title": a.contract.title,
                "kind": a.contract.kind,
                "objective": a.objective().to_dict(),
                "deadline": a.deadline,
                "seconds_left": max(0, a.deadline - now),
                "reward": a.contract.reward,
            }
            for a in progress.missions.active
        ],
        "standing": {
            faction: {"value": value, "rank": rank_of(value).key}
            for faction, value in progress.reputation.standing
        },
    }


def fund_available(progress: Progress, now: int) -> bool:
    """Whether the patrol fund would pay towards this pilot's rescue now (once an hour)."""
    return progress.fund_used_at == 0 or now - progress.fund_used_at >= rules.FUND_EVERY_S


def fund_used(progress: Progress, now: int) -> Progress:
    """The progress after the fund paid towards a rescue the pilot took."""
    return dataclasses.replace(progress, fund_used_at=now)


# -- inside -------------------------------------------------------------------------------------


def _tutorial(progress: Progress) -> Tutorial:
    if progress.tutorial is None:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "you have no tutorial")
    return progress.tutorial


def _finish(
    progress: Progress,
    change: Change,
    pilot: Pilot,
    now: int,
    fact: Fact | None,
    rep_changes: tuple[tuple[str, int], ...],
    *,
    accepted: bool = False,
) -> Outcome:
    changes = rep_changes + change.reputation
    reputation = progress.reputation.adjust(changes)
    messages: list[dict[str, Any]] = [n.message() for n in change.notices]
    for faction in dict.fromkeys(f for f, _ in changes):
        messages.append(contracts.standing_notice(reputation, faction))
    requests = list(change.requests)
    t = progress.tutorial
    if t is not None:
        tc = tutorial.observe(t, fact, pilot, now, earned=change.earned, accepted=accepted)
        t = tc.tutorial
        requests += tc.requests
        messages += tc.messages
    new = Progress(t, change.log, reputation, progress.fund_used_at)
    return Outcome(new, tuple(requests), tuple(messages))
