"""Unlicensed clones: a clone of a real person's profile with no consent record, or whose
profile is not its owner's (the owner cloned someone else without that person's consent)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from callister.moderation.detect import Finding


def unlicensed_clones(clones: Iterable[Any]) -> list[Finding]:
    """Flag every clone whose `licence.is_licensed` is False (score 1), and every clone made
    from another account's profile even with a consent id (score 0.5: the consent must be
    checked by a person)."""
    out = []
    for clone in clones:
        licence = clone.licence
        owner = licence.owner
        evidence = {"clone": str(clone.id), "licence": licence.to_dict(), "world": clone.world}
        if not licence.is_licensed:
            account = owner if owner is not None else licence.subject
            out.append(
                Finding(
                    "unlicensed_clone",
                    int(account or 0),
                    1.0,
                    {**evidence, "why": "no consent record"},
                    str(clone.id),
                )
            )
        elif licence.subject is not None and owner is not None and licence.subject != owner:
            out.append(
                Finding(
                    "unlicensed_clone",
                    int(owner),
                    0.5,
                    {**evidence, "why": "profile is not the owner's"},
                    str(clone.id),
                )
            )
    return out
