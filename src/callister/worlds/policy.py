"""Who may see and enter which world, and who may delete one (the kill switch's request and
approval rules, the two-person rule among them): one set of rules for the HTTP admin API and
the command line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callister.store import Account, DeletionJob, NotFound, Store, WorldRecord


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: str = ""


def access(
    record: WorldRecord | None,
    account_id: int,
    role: str,
    membership: str | None,
    population: int,
    present: bool = False,
) -> Access:
    """May the account enter the world now? `membership`: 'invited', 'member' or None;
    `population`: players in the world now; `present`: the account is already one of them."""
    if record is None:
        return Access(False, "no such world")
    if record.state != "live":
        return Access(False, f"world {record.name} is being deleted")
    outsider = role != "admin" and record.owner != account_id
    if outsider and record.visibility != "public" and membership is None:
        return Access(False, f"world {record.name} is {record.visibility}: you need an invite")
    if record.player_limit and population >= record.player_limit and not present:
        return Access(False, f"world {record.name} is full ({record.player_limit} players)")
    return Access(True)


def visible_worlds(
    records: Iterable[WorldRecord],
    account_id: int,
    role: str,
    memberships: Mapping[str, str],
    populations: Mapping[str, int],
) -> list[dict[str, object]]:
    """The worlds the account may enter (admins: every live world), for `welcome.worlds` and
    GET /api/worlds."""
    out: list[dict[str, object]] = []
    for r in records:
        membership = memberships.get(r.name)
        verdict = access(r, account_id, role, membership, 0)
        if not verdict.allowed:
            continue
        out.append(
            {
                "name": r.name,
                "visibility": r.visibility,
                "owner": r.owner,
                "players": populations.get(r.name, 0),
                "player_limit": r.player_limit,
                "rules": r.rules,
                "membership": membership,
            }
        )
    return out


def gm_refusal(account_id: int, role: str, owner: int | None, public: bool) -> str | None:
    """Why the account may not be a game master in a world (None: it may). Administrators
    may everywhere; in a world with an owner (a private or invite-only world) its owner may
    too; in the server's public world nobody else (issue 18, docs/worlds.md "Game masters")."""
    if role == "admin":
        return None
    if public or owner is None:
        return "only administrators are game masters in the public world"
    if owner != account_id:
        return "only the world's owner and administrators are game masters here"
    return None


# ----------------------------------------------------------------------- the kill switch
class KillSwitchSettings(Protocol):
    """The server settings the kill switch reads (server/settings.py's Settings has them)."""

    @property
    def world_name(self) -> str: ...
    @property
    def kill_switch_two_person(self) -> bool: ...
    @property
    def world_delete_approval_s(self) -> float: ...
    @property
    def world_delete_countdown_s(self) -> int: ...


@dataclass(frozen=True)
class KillSwitch:
    """The kill switch's settings."""

    public: str  # the public world: deleting it needs the override
    two_person: bool  # a world with players or data needs a second administrator
    approval_s: float  # time the second administrator has
    countdown_s: int  # players' warning before the deletion starts

    @classmethod
    def of(cls, settings: KillSwitchSettings) -> KillSwitch:
        return cls(
            public=settings.world_name,
            two_person=settings.kill_switch_two_person,
            approval_s=settings.world_delete_approval_s,
            countdown_s=settings.world_delete_countdown_s,
        )


def two_person_rule(stats: Mapping[str, int], population: int, two_person: bool) -> dict[str, Any]:
    """Whether deleting a world needs a second administrator, with the reason, as the request's
    audit record states it: {"two_person": "required" | "off" | "not needed", "why": text}.

    A world holds players or data when it has a character, someone in it now, or any row
    keyed to it besides its registry entry (memberships, ledger, stocks, clones, ...)."""
    occupied = stats.get("characters", 0) > 0 or population > 0 or stats.get("rows", 0) > 1
    if not occupied:
        return {"two_person": "not needed", "why": "the world holds no players and no data"}
    if not two_person:
        return {"two_person": "off", "why": "kill_switch_two_person = false on this server"}
    return {"two_person": "required", "why": "the world holds players or data"}


def request_deletion(
    store: Store,
    name: str,
    actor: Account,
    *,
    confirm: object,
    override: bool,
    rules: KillSwitch,
    now: float,
    population: int = 0,
    countdown_s: int | None = None,
    resume: bool = False,
) -> DeletionJob:
    """Record administrator `actor`'s request to delete world `name` (synchronous, on the
    store): PermissionError unless the actor is an admin, ValueError unless `confirm` is the
    name exactly or for the public world without `override`, NotFound for no such world,
    ValueError when a job exists (with `resume`: that job is returned instead).

    Under the two-person rule (two_person_rule) the job waits in 'approval' for a different
    administrator (approve_deletion); otherwise its countdown starts now. `countdown_s`
    replaces the setting (the command line's --now: 0)."""
    if actor.role != "admin":
        raise PermissionError(f"'{actor.name}' is not an administrator (role {actor.role})")
    if confirm != name:
        raise ValueError("confirmation did not match the world's name; nothing deleted")
    if store.worlds.get(name) is None:
        raise NotFound(f"no world named '{name}'")
    if name == rules.public and not override:
        raise ValueError(
            f'{name} is the public world: add --override (HTTP: "override": true) to delete it'
        )
    existing = store.deletions.get(name)
    if existing is not None and resume:
        return existing
    terms = two_person_rule(store.worlds.stats(name), population, rules.two_person)
    return store.deletions.create(
        name,
        actor.id,
        countdown_s=rules.countdown_s if countdown_s is None else countdown_s,
        approve_by=now + rules.approval_s if terms["two_person"] == "required" else None,
        override=override,
        at=now,
        detail=terms,
    )


def approve_deletion(store: Store, name: str, actor: Account, now: float) -> DeletionJob:
    """The second administrator's approval: PermissionError unless `actor` is an admin,
    NotFound when no deletion of the world waits, ValueError when the actor is the one who
    requested it (one person cannot be both) or the window has closed. The job's countdown
    starts; the approval is audited with the approver."""
    if actor.role != "admin":
        raise PermissionError(f"'{actor.name}' is not an administrator (role {actor.role})")
    job = store.deletions.get(name)
    if job is None:
        raise NotFound(f"no deletion of '{name}' is waiting")
    if job.requested_by == actor.id:
        raise ValueError(
            f"you ('{actor.name}') requested this deletion: the two-person rule needs a second "
            "administrator, not the requester, to approve it"
        )
    return store.deletions.approve(name, actor.id, now)
