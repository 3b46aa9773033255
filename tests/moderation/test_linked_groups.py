"""Linked accounts as groups (issue 17): one finding per group however many accounts share
an address, transitive links, login bursts that prove nothing, and a detector pass that writes
only what changed — on a real server with a real SQLite file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callister.moderation.detect import Finding, economy
from callister.moderation.written import REFRESH_S, WrittenFlags
from callister.store import Login

if TYPE_CHECKING:  # the `live` fixture's type (tests/conftest.py; not a package from here)
    from tests.conftest import LiveServer


def test_a_campus_behind_one_address_is_one_group_not_a_pair_per_two_accounts() -> None:
    logins = [Login("w", a, "100.64.0.1", 1000.0 * a) for a in range(1, 251)]
    links = economy.linked_accounts(logins)
    (group,) = links.groups
    assert group.members == tuple(range(1, 251)) and group.why == ("address 100.64.0.1",)
    (finding,) = [g.finding() for g in links.groups]
    assert finding.account_id == 1 and finding.subject == "group:1"
    assert finding.evidence["size"] == 250 and len(finding.evidence["members"]) == 50
    # hundreds behind one address are a network: weaker than a pair, never zero
    assert 0 < finding.score < economy.LinkGroup((1, 2), ("address x",)).score
    assert links.linked(17, 203) and not links.linked(17, 17) and not links.linked(17, 999)


def test_links_are_transitive_and_say_every_reason() -> None:
    logins = [Login("w", 1, "10.0.0.1", 0.0), Login("w", 2, "10.0.0.1", 50.0)]
    # 2 and 3 log in within a second of each other three times, from different places
    for i in range(3):
        logins += [
            Login("w", 2, f"a{i}", 5000.0 * (i + 1)),
            Login("w", 3, f"b{i}", 5000.0 * (i + 1) + 1),
        ]
    logins += [Login("w", 9, "elsewhere", 99_999.0)]
    links = economy.linked_accounts(logins)
    (group,) = links.groups
    assert group.members == (1, 2, 3)
    assert set(group.why) == {"address 10.0.0.1", "login times"}
    assert links.linked(1, 3) and not links.linked(1, 9)


def test_a_login_burst_is_a_crowd_not_one_person() -> None:
    # a server restart: 50 accounts reconnect within the same second, three times over
    logins = [
        Login("w", a, f"home{a}", 1000.0 * round_ + a * 0.01)
        for round_ in range(3)
        for a in range(1, 51)
    ]
    assert economy.linked_accounts(logins).groups == []


def test_linked_transfers_use_the_groups() -> None:
    links = economy.linked_accounts(
        [
            Login("w", 1, "10.0.0.1", 0.0),
            Login("w", 2, "10.0.0.1", 1.0),
            Login("w", 3, "10.0.0.1", 2.0),
        ]
    )
    transfers = [
        economy.Transfer(1, 3, 30_000, 0, 1.0, "bounty"),
        economy.Transfer(4, 3, 1, 0, 1.0, "loot"),
    ]
    (flag,) = economy.linked_transfers(transfers, links)
    assert flag.account_id == 3 and flag.evidence["link"] == "address 10.0.0.1"


def test_only_new_or_changed_findings_are_written_again() -> None:
    written = WrittenFlags()
    a = Finding("linked_accounts", 1, 0.3, {"members": [1, 2]}, "group:1")
    b = Finding("bot", 7, 0.5, {"n": 1})
    assert written.changed([a, b], now=0.0) == [a, b]
    assert written.changed([a, b], now=10.0) == []  # the same again: nothing to write
    a2 = Finding("linked_accounts", 1, 0.3, {"members": [1, 2, 3]}, "group:1")
    assert written.changed([a2, b], now=20.0) == [a2]  # a member joined
    assert written.changed([a2, b], now=20.0 + REFRESH_S) == [a2, b]  # due a refresh
    written.forget()  # a moderator closed a flag
    assert written.changed([a2], now=20.0 + REFRESH_S + 1) == [a2]


async def test_a_detection_pass_writes_one_flag_for_a_crowd_and_nothing_the_second_time(
    live: LiveServer,
) -> None:
    store, world = live.services.store, live.services.world.name
    accounts = [store.accounts.create(f"campus{i}", "x" * 60).id for i in range(120)]
    for n, account in enumerate(accounts):
        store.moderation.record_login(Login(world, account, "100.64.9.9", 10.0 + n * 60))
    moderation = live.services.gateway.moderation
    first = await moderation.detect()
    groups = [f for f in first if f.detector == "linked_accounts"]
    assert len(groups) == 1 and groups[0].evidence["size"] == 120
    flags = [
        f for f in store.moderation.list_flags(world, limit=1000) if f.detector == "linked_accounts"
    ]
    assert len(flags) == 1 and flags[0].account_id == min(accounts)
    at = flags[0].at
    await moderation.detect()  # the same world again: no write
    (again,) = [
        f for f in store.moderation.list_flags(world, limit=1000) if f.detector == "linked_accounts"
    ]
    assert again.id == flags[0].id and again.at == at
