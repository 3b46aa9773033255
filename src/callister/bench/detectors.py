"""`callister bench detectors`: the linked-account detector and the flag writes of two
detection passes, for N accounts behind one address (a campus, a carrier-grade NAT, or a
crowd benchmark's load generator).

Before issue 17 this cost one finding and one flag upsert per *pair* of accounts, every pass
(31,125 for 250 accounts). It runs the detector the server runs (`moderation/detect/economy`)
and writes through the server's `WrittenFlags` and `ModerationRepository.add_flags` into a
temporary SQLite database.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from callister.moderation.detect import economy
from callister.moderation.written import WrittenFlags
from callister.store import Flag, Login, open_store


def run_detectors_bench(accounts: int = 1000) -> dict[str, object]:
    """JSON-ready: accounts, groups, findings, analyse_ms, first_pass (flags_written,
    write_ms), second_pass (flags_written, write_ms). ValueError for fewer than 2 accounts."""
    if accounts < 2:
        raise ValueError("accounts must be >= 2")
    logins = [Login("bench", a, "100.64.0.1", 1000.0 + a * 0.02) for a in range(1, accounts + 1)]
    start = time.perf_counter()
    links = economy.linked_accounts(logins)
    findings = [g.finding() for g in links.groups]
    analyse_ms = (time.perf_counter() - start) * 1000
    written = WrittenFlags()
    passes = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        try:
            for now in (1.0, 31.0):  # two passes, the server's default 30 s apart
                start = time.perf_counter()
                changed = written.changed(findings, now)
                store.moderation.add_flags(
                    [
                        Flag("bench", f.detector, f.account_id, f.score, f.evidence, now, f.subject)
                        for f in changed
                    ]
                )
                passes.append(
                    {
                        "flags_written": len(changed),
                        "write_ms": round((time.perf_counter() - start) * 1000, 3),
                    }
                )
        finally:
            store.db.close()
    return {
        "accounts": accounts,
        "groups": len(links.groups),
        "findings": len(findings),
        "analyse_ms": round(analyse_ms, 3),
        "first_pass": passes[0],
        "second_pass": passes[1],
    }
