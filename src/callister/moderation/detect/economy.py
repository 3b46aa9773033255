"""Economic anomalies: credits or items flowing between linked accounts, and duplication
attempts (one request id replayed with different contents).

Accounts are *linked* when they connected from the same address, or logged in within
`LOGIN_GAP_S` of each other more than `LOGIN_MATCHES` times (one person, two windows)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from callister.moderation.detect import Finding
from callister.store import Login

LOGIN_GAP_S = 5.0
LOGIN_MATCHES = 3


@dataclass(frozen=True)
class Transfer:
    """Value that moved from one account to another (a bounty paid, a wreck looted, a trade)."""

    source: int
    destination: int
    credits: int
    items: int
    at: float
    how: str


def linked_accounts(logins: Iterable[Login]) -> dict[frozenset[int], str]:
    """Pairs of linked accounts -> why ("address <a>" or "login times")."""
    rows = list(logins)
    links: dict[frozenset[int], str] = {}
    by_address: dict[str, set[int]] = defaultdict(set)
    for login in rows:
        by_address[login.address].add(login.account_id)
    for address, accounts in by_address.items():
        ordered = sorted(accounts)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                links.setdefault(frozenset((a, b)), f"address {address}")
    rows.sort(key=lambda r: r.at)
    close: dict[frozenset[int], int] = defaultdict(int)
    for i, first in enumerate(rows):
        for second in rows[i + 1 :]:
            if second.at - first.at > LOGIN_GAP_S:
                break
            if first.account_id != second.account_id:
                close[frozenset((first.account_id, second.account_id))] += 1
    for pair, n in close.items():
        if n >= LOGIN_MATCHES:
            links.setdefault(pair, "login times")
    return links


def linked_transfers(
    transfers: Iterable[Transfer], links: dict[frozenset[int], str]
) -> list[Finding]:
    """Flag the receiving account of value moving between linked accounts."""
    totals: dict[tuple[int, int], list[Transfer]] = defaultdict(list)
    for t in transfers:
        if frozenset((t.source, t.destination)) in links:
            totals[(t.source, t.destination)].append(t)
    out = []
    for (src, dst), rows in totals.items():
        credits = sum(t.credits for t in rows)
        items = sum(t.items for t in rows)
        score = min(1.0, 0.4 + credits / 50_000 + items / 200)
        out.append(
            Finding(
                "economy",
                dst,
                round(score, 3),
                {
                    "from": src,
                    "credits": credits,
                    "items": items,
                    "transfers": len(rows),
                    "link": links[frozenset((src, dst))],
                    "how": sorted({t.how for t in rows}),
                },
                f"link:{min(src, dst)}:{max(src, dst)}",
            )
        )
    return out


def duplicate_rids(requests: Iterable[tuple[int, str, str]]) -> list[Finding]:
    """(account, rid, content digest) of every request; a rid sent again with different
    contents is an attempt to make the idempotency key apply twice."""
    seen: dict[tuple[int, str], set[str]] = defaultdict(set)
    for account, rid, digest in requests:
        seen[(account, rid)].add(digest)
    return [
        Finding(
            "economy",
            account,
            0.9,
            {"rid": rid, "variants": len(d), "why": "duplication"},
            f"rid:{rid}",
        )
        for (account, rid), d in seen.items()
        if len(d) > 1
    ]
