"""Errors of the agents layer."""

from __future__ import annotations


class AgentError(ValueError):
    """A clone, profile, memory or clone file is invalid; the message names what and where."""


class ProfileError(AgentError):
    """A profile document is invalid (the message names the field)."""


class CloneDead(RuntimeError):
    """A dead clone was asked to act. Dead clones are archives: they never decide or speak."""

    def __init__(self, clone_id: int, name: str, died_tick: int | None, cause: str) -> None:
        self.clone_id = clone_id
        super().__init__(
            f"clone {clone_id} ({name}) died at tick {died_tick} ({cause or 'unknown cause'}): "
            "dead clones cannot act"
        )
