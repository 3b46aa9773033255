"""Detectors on labelled and hand-made data."""

from __future__ import annotations

from callister.agents.model import Licence
from callister.moderation.detect import bots, economy, refusals, synth
from callister.moderation.detect.clones import unlicensed_clones
from callister.store import Evidence, Login

MIN_PRECISION = 0.95
MIN_RECALL = 0.95


def test_bot_detector_precision_and_recall_on_labelled_sessions() -> None:
    # held-out seeds (the weights were chosen looking at seed 0 only)
    for seed in (1, 2, 3):
        precision, recall = synth.precision_recall(200, seed)
        assert precision >= MIN_PRECISION, (seed, precision)
        assert recall >= MIN_RECALL, (seed, recall)


def test_short_sessions_are_not_judged() -> None:
    assert bots.detect(1, synth.bot_session(1)[:5]) is None


def test_input_log_keeps_the_last_inputs() -> None:
    log = bots.InputLog(size=3)
    for i in range(5):
        log.record(7, float(i), 1.0, 0.0)
    assert log.sessions() == [(7, [(2.0, 1.0, 0.0), (3.0, 1.0, 0.0), (4.0, 1.0, 0.0)])]


class _Clone:
    def __init__(self, cid: int, licence: Licence) -> None:
        self.id, self.licence, self.world = cid, licence, "w"


def test_unlicensed_clones_are_flagged() -> None:
    found = unlicensed_clones(
        [
            _Clone(1, Licence(owner=5, subject=9, consent=None)),  # someone's profile, no consent
            _Clone(2, Licence(owner=5, subject=None)),  # generated: fine
            _Clone(3, Licence(owner=5, subject=5, consent="c1", proven=True)),  # own, checked
            _Clone(4, Licence(owner=5, subject=9, consent="c2", proven=True)),  # checked consent
            _Clone(5, Licence(owner=5, subject=9, consent="made-up")),  # a string proves nothing
            _Clone(6, Licence(subject=9, consent="c3")),  # unowned, revoked: the subject is told
            _Clone(7, Licence(subject=9, consent="c4", home="ab12")),  # another server's #9
        ]
    )
    assert [(f.subject, f.account_id, f.score) for f in found] == [
        ("1", 5, 1.0),
        ("5", 5, 1.0),
        ("6", 9, 1.0),
        ("7", 0, 1.0),  # account 9 there is not account 9 here
    ]
    assert found[0].evidence["why"] == "no consent record"
    assert found[1].evidence["why"] == "consent not proven"


def test_refusals_pile_up_and_floods() -> None:
    ev = [Evidence("w", 7, 1, 100.0 + i, "COOLDOWN", "fire", id=i) for i in range(30)]
    ev += [Evidence("w", 8, 1, 100.0, "OUT_OF_RANGE", "fire")]
    ev += [Evidence("w", 9, 1, 100.0, "FLOOD", "socket"), Evidence("w", 9, 1, 101.0, "FLOOD", "x")]
    found = {f.account_id: f for f in refusals.refusals(ev, now=200.0)}
    assert set(found) == {7} and found[7].score == 1.0 and found[7].evidence["count"] == 30
    assert refusals.refusals(ev, now=10_000.0) == []  # out of the window
    floods = refusals.floods(ev, now=200.0)
    assert [(f.account_id, f.score) for f in floods] == [(9, 0.75)]


def test_linked_accounts_and_transfers_and_duplicates() -> None:
    logins = [Login("w", 1, "10.0.0.1", 0.0), Login("w", 2, "10.0.0.1", 50.0)]
    logins += [Login("w", 3, f"a{i}", 1000.0 * i) for i in range(4)]
    logins += [Login("w", 4, f"b{i}", 1000.0 * i + 1.0) for i in range(4)]
    links = economy.linked_accounts(logins)
    assert links.linked(1, 2) and links.why(1, 2).startswith("address")
    assert links.linked(3, 4) and links.why(3, 4) == "login times"
    assert not links.linked(1, 3) and links.why(1, 3) == ""
    assert [g.members for g in links.groups] == [(1, 2), (3, 4)]
    transfers = [
        economy.Transfer(1, 2, 40_000, 0, 1.0, "bounty"),
        economy.Transfer(3, 5, 9_000, 0, 1.0, "loot"),  # not linked
    ]
    found = economy.linked_transfers(transfers, links)
    assert [(f.account_id, f.evidence["credits"]) for f in found] == [(2, 40_000)]
    dups = economy.duplicate_rids([(1, "r1", "a"), (1, "r1", "a"), (2, "r2", "a"), (2, "r2", "b")])
    assert [(f.account_id, f.subject) for f in dups] == [(2, "rid:r2")]
