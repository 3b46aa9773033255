"""Economic anomalies: credits or items flowing between linked accounts, and duplication
attempts (one request id replayed with different contents).

Accounts are *linked* when they connected from the same address, or logged in within
`LOGIN_GAP_S` of each other more than `LOGIN_MATCHES` times (one person, two windows).

What the live server feeds them (moderation/service.py):
- transfers: `TransferLedger` reads the world's committed ledger transactions (a wreck looted
  from another player's death, a bounty paid by its placers to the killer), so what it sees
  is what the books say, restarts included;
- duplicate request ids: the service compares a replayed receipt with the request that got
  it (`request_fields` / `replay_differs`; the commands publish both, moderation/feeds.py) and
  writes evidence `DUPLICATE_RID`; `rid_variants` turns that evidence into the input of
  `duplicate_rids`."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from callister.moderation.detect import Finding
from callister.protocol.messages import (
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    ClientMessage,
    TradeMsg,
)
from callister.store import Evidence, Login, Txn

LOGIN_GAP_S = 5.0
LOGIN_MATCHES = 3
TRANSFER_WINDOW_S = 24 * 3600.0  # transfers kept for the linked-accounts check
TRANSFER_KINDS = ("death", "loot", "bounty")  # the ledger kinds TransferLedger reads
MAX_TRANSFERS = 20_000  # bound on what TransferLedger holds (oldest dropped first)
DUPLICATE_RID = "DUPLICATE_RID"  # the evidence code of a replayed rid with other contents


@dataclass(frozen=True)
class Transfer:
    """Value that moved from one account to another (a bounty paid, a wreck looted, a trade)."""

    source: int
    destination: int
    credits: int
    items: int
    at: float
    how: str


MAX_LOGIN_BURST = 4  # more distinct accounts than this within LOGIN_GAP_S: a crowd, not one person
PERSONAL_GROUP = 4  # up to this many accounts behind one address: plausibly one person's
MAX_GROUP_EVIDENCE = 50  # members listed in a group's flag (the size is always given)


@dataclass(frozen=True)
class LinkGroup:
    """Accounts linked to each other, directly or through others (one person with several
    accounts, or a household, a campus network, a carrier-grade NAT)."""

    members: tuple[int, ...]  # sorted
    why: tuple[str, ...]  # "address <a>" for each shared address, "login times"

    @property
    def score(self) -> float:
        # a small group behind one address is suspicious; hundreds of players behind one
        # address are a network (campus, carrier NAT) and say little about any one of them
        return 0.3 if len(self.members) <= PERSONAL_GROUP else 0.1

    def finding(self) -> Finding:
        """One finding for the whole group, on its oldest (lowest id) account."""
        first = self.members[0]
        return Finding(
            "linked_accounts",
            first,
            self.score,
            {
                "members": list(self.members[:MAX_GROUP_EVIDENCE]),
                "size": len(self.members),
                "why": list(self.why),
            },
            f"group:{first}",
        )


class Links:
    """The linked groups, with a constant-time "are these two linked, and why"."""

    def __init__(self, groups: Iterable[LinkGroup]) -> None:
        self.groups = list(groups)
        self._group_of = {a: g for g in self.groups for a in g.members}

    def linked(self, a: int, b: int) -> bool:
        g = self._group_of.get(a)
        return a != b and g is not None and g is self._group_of.get(b)

    def why(self, a: int, b: int) -> str:
        """Why `a` and `b` are linked ("" when they are not)."""
        return ", ".join(self._group_of[a].why) if self.linked(a, b) else ""


class _Union:
    """Union-find over account ids: linear in the logins, where listing pairs was quadratic
    (250 players behind one address made 31,000 pairs, rewritten every detection pass)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        root = self.parent.setdefault(a, a)
        while root != self.parent[root]:
            root = self.parent[root]
        while a != root:  # path compression
            self.parent[a], a = root, self.parent[a]
        return root

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def linked_accounts(logins: Iterable[Login]) -> Links:
    """Groups of linked accounts: accounts that connected from one address, or logged in
    within `LOGIN_GAP_S` of each other at least `LOGIN_MATCHES` times, and (transitively)
    those linked to them. Linear in the logins: a burst of more than `MAX_LOGIN_BURST`
    accounts inside one gap (a server restart, an event) proves nothing about login times and
    is not paired up."""
    rows = list(logins)
    union = _Union()
    reasons: dict[int, list[str]] = defaultdict(list)  # the first account of a link -> why
    by_address: dict[str, set[int]] = defaultdict(set)
    for login in rows:
        by_address[login.address].add(login.account_id)
    for address, accounts in sorted(by_address.items()):
        if len(accounts) < 2:
            continue
        oldest, *rest = sorted(accounts)
        for other in rest:
            union.join(oldest, other)
        reasons[oldest].append(f"address {address}")
    rows.sort(key=lambda r: r.at)
    crowded = _in_bursts(rows)
    close: dict[tuple[int, int], int] = defaultdict(int)
    for i, first in enumerate(rows):
        if crowded[i]:
            continue
        for j in range(i + 1, len(rows)):  # indices: a slice would copy the tail each time
            second = rows[j]
            if second.at - first.at > LOGIN_GAP_S:
                break
            if second.account_id != first.account_id and not crowded[j]:
                pair = (
                    min(first.account_id, second.account_id),
                    max(first.account_id, second.account_id),
                )
                close[pair] += 1
    for (a, b), n in sorted(close.items()):
        if n >= LOGIN_MATCHES:
            union.join(a, b)
            reasons[a].append("login times")
    members: dict[int, list[int]] = defaultdict(list)
    for account in list(union.parent):
        members[union.find(account)].append(account)
    groups = []
    for _root, group in sorted(members.items()):
        if len(group) < 2:
            continue
        why = sorted({r for a in group for r in reasons.get(a, ())})
        groups.append(LinkGroup(tuple(sorted(group)), tuple(why)))
    return Links(groups)


def _in_bursts(rows: list[Login]) -> list[bool]:
    """For logins sorted by time: whether more than `MAX_LOGIN_BURST` distinct accounts logged
    in within `LOGIN_GAP_S` either side of each one. Looks at most `MAX_LOGIN_BURST + 1`
    accounts past the window's start, so a crowd costs linear time."""
    out = []
    lo = 0
    for login in rows:
        while rows[lo].at < login.at - LOGIN_GAP_S:
            lo += 1
        seen: set[int] = set()
        j = lo
        while j < len(rows) and rows[j].at <= login.at + LOGIN_GAP_S:
            seen.add(rows[j].account_id)
            if len(seen) > MAX_LOGIN_BURST:
                break
            j += 1
        out.append(len(seen) > MAX_LOGIN_BURST)
    return out


def linked_transfers(transfers: Iterable[Transfer], links: Links) -> list[Finding]:
    """Flag the receiving account of value moving between linked accounts."""
    totals: dict[tuple[int, int], list[Transfer]] = defaultdict(list)
    for t in transfers:
        if links.linked(t.source, t.destination):
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
                    "link": links.why(src, dst),
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


# ---------------------------------------------------------------------------- the live feed
class TransferLedger:
    """Turns committed ledger transactions (ascending ids, kinds TRANSFER_KINDS) into
    `Transfer`s between player accounts. Pure bookkeeping, no I/O: the caller reads the rows.

    - a death moves the victim's hold into wreck <id> (remembered: wreck -> victim) and pays
      the bounty on the victim to the killer;
    - a loot moves a wreck's items to the looter: a transfer from the wreck's victim;
    - a bounty puts the placer's credits in escrow on the target: paid out at the target's
      death, they are a transfer from each placer to the killer.
    """

    def __init__(self, window_s: float = TRANSFER_WINDOW_S) -> None:
        self.window_s = window_s
        self.last_id = 0  # the newest transaction fed
        self.wreck_owner: dict[int, tuple[int, float]] = {}  # wreck -> (victim, at)
        self.escrow: dict[int, list[tuple[int, int]]] = defaultdict(list)  # target -> placers
        self.transfers: deque[Transfer] = deque(maxlen=MAX_TRANSFERS)

    def feed(self, txns: Iterable[Txn], now: float) -> int:
        """Account for these transactions (ids above `last_id`, ascending); returns how many
        transfers they made. Malformed rows are skipped, never raised on."""
        made = 0
        for txn in txns:
            if txn.id <= self.last_id:
                continue
            self.last_id = txn.id
            account = _player(txn.account)
            detail = txn.result.get("detail")
            if account is None or not isinstance(detail, dict):
                continue
            made += self._one(txn.kind, account, detail, txn.created_at)
        self._forget(now)
        return made

    def _one(self, kind: str, account: int, detail: dict[str, Any], at: float) -> int:
        if kind == "bounty":
            target, amount = _int(detail.get("target")), _int(detail.get("amount"))
            if target and amount:
                self.escrow[target].append((account, amount))
            return 0
        if kind == "death":
            wreck = _int(detail.get("wreck"))
            if wreck:
                self.wreck_owner[wreck] = (account, at)
            killer, paid = _int(detail.get("killer")), _int(detail.get("bounty"))
            placers = self.escrow.pop(account, [])
            if not killer or not paid:
                return 0
            paid_by = [(placer, amount) for placer, amount in placers if placer != killer]
            for placer, amount in paid_by:  # (one's own bounty back is no transfer)
                self.transfers.append(Transfer(placer, killer, amount, 0, at, "bounty"))
            return len(paid_by)
        if kind == "loot":
            wreck = _int(detail.get("wreck"))
            items = detail.get("items")
            victim = self.wreck_owner.get(wreck)
            if victim is None or victim[0] == account or not isinstance(items, dict):
                return 0  # an NPC's wreck, one's own cargo back, or a death before our window
            count = sum(q for q in items.values() if isinstance(q, int) and q > 0)
            if count <= 0:
                return 0
            self.transfers.append(Transfer(victim[0], account, 0, count, at, "loot"))
            return 1
        return 0

    def _forget(self, now: float) -> None:
        cutoff = now - self.window_s
        while self.transfers and self.transfers[0].at < cutoff:
            self.transfers.popleft()
        for wreck in [w for w, (_, at) in self.wreck_owner.items() if at < cutoff]:
            del self.wreck_owner[wreck]


def _player(account: str | None) -> int | None:
    """The account id of a "player:<id>" ledger account (None for system accounts)."""
    if not account or not account.startswith("player:"):
        return None
    tail = account.removeprefix("player:")
    return int(tail) if tail.isdigit() else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def request_fields(message: ClientMessage) -> dict[str, Any] | None:
    """What an economy request asked for, under the names its receipt's `detail` uses (None:
    a request whose contents are all in its idempotency key, e.g. a service's op)."""
    if isinstance(message, TradeMsg):
        return {"item": message.item, "qty": message.qty, "side": message.side}
    if isinstance(message, BuyHullMsg):
        return {"hull": message.hull}
    if isinstance(message, BuyModuleMsg):
        return {"slot": message.slot, "weapon": message.weapon}
    if isinstance(message, BountyMsg):
        return {"amount": message.amount}
    return None


def replay_differs(sent: dict[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """The fields where a replayed request differs from what the first one did ({}: the same
    request sent again, an honest retry)."""
    return {k: detail[k] for k, v in sent.items() if k in detail and detail[k] != v}


def digest(fields: dict[str, Any]) -> str:
    """A short stable digest of a request's contents."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rid_variants(evidence: Iterable[Evidence]) -> list[tuple[int, str, str]]:
    """(account, "<kind>:<rid>", contents digest) of both the first and the replayed request
    of every DUPLICATE_RID evidence row: the input of `duplicate_rids`."""
    out = []
    for e in evidence:
        if e.code != DUPLICATE_RID or not isinstance(e.detail, dict):
            continue
        key = f"{e.detail.get('kind', e.action)}:{e.detail.get('rid', '')}"
        sent, first = e.detail.get("sent"), e.detail.get("first")
        if isinstance(sent, dict) and isinstance(first, dict):
            out.append((e.account_id, key, digest(sent)))
            out.append((e.account_id, key, digest({**sent, **first})))
    return out
