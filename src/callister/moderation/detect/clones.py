"""Unlicensed clones: a clone of a real person whose consent this server has not checked, or no
longer holds: none recorded, a consent id that names no record of that person, a revoked
consent, or (for a clone from another server) no licence proof from a trusted key.

The check itself is the licence's `proven` flag, set by whoever read the clone against the
consent records and the trusted keys (the store on every read, the importer, the directory
repository): see docs/agents.md, "Licences and trust". A consent string alone proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from callister.moderation.detect import Finding


def unlicensed_clones(clones: Iterable[Any]) -> list[Finding]:
    """Flag every clone whose `licence.is_licensed` is False (score 1), against its owner, or
    the person it copies when it has no owner and that person is an account of this server
    (another server's account numbers name nobody here: account 0 then)."""
    out = []
    for clone in clones:
        licence = clone.licence
        if licence.is_licensed:
            continue
        account = licence.owner
        if account is None and licence.home is None:
            account = licence.subject
        why = "consent not proven" if licence.consent else "no consent record"
        out.append(
            Finding(
                "unlicensed_clone",
                int(account or 0),
                1.0,
                {
                    "clone": str(clone.id),
                    "licence": licence.to_dict() | {"status": licence.status},
                    "world": clone.world,
                    "why": why,
                },
                str(clone.id),
            )
        )
    return out
