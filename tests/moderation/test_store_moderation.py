"""The moderation records on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from callister.store import AuditEntry, Ban, Flag, FootageRecord, Login, Report, Store


def report(**kw: object) -> Report:
    base: dict[str, object] = dict(
        world="w", reporter_id=1, target_kind="player", target="2", target_account=2,
        reason="griefing", text="<b>he</b> keeps ramming me", at=100.0, zone="w.0.0", tick=5,
    )  # fmt: skip
    base.update(kw)
    return Report(**base)  # type: ignore[arg-type]


def test_reports_footage_and_queue(store: Store) -> None:
    fid = store.moderation.save_footage(
        FootageRecord("w", "w.0.0", 10, 20, 1.0, "report", 3, b"\x00\x01\x02")
    )
    rid = store.moderation.add_report(report(footage_id=fid, chat=[{"from": "a", "text": "hi"}]))
    got = store.moderation.get_report("w", rid)
    assert got is not None and got.text == "<b>he</b> keeps ramming me"
    assert got.footage_id == fid and got.chat == [{"from": "a", "text": "hi"}]
    assert [r.id for r in store.moderation.list_reports("w")] == [rid]
    assert store.moderation.list_reports("other") == []
    assert store.moderation.set_report_status("w", rid, "closed")
    assert (
        store.moderation.list_reports("w") == []
        and len(store.moderation.list_reports("w", None)) == 1
    )
    f = store.moderation.get_footage("w", fid)
    assert f is not None and f.data == b"\x00\x01\x02" and f.size == 3
    assert store.moderation.list_footage("w")[0].data == b""
    assert store.moderation.get_footage("w", 999) is None


@pytest.mark.parametrize(
    "bad",
    [
        dict(reason="because"), dict(target_kind="planet"), dict(text="x" * 1001),
        dict(text="bell\x07"), dict(world=""), dict(reporter_id=True),
    ],
)  # fmt: skip
def test_bad_reports_are_refused(store: Store, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        store.moderation.add_report(report(**bad))
    assert store.moderation.list_reports("w", None) == []


def test_flags_upsert_audit_bans_watch_logins(store: Store) -> None:
    a = store.moderation.add_flag(Flag("w", "bot", 7, 0.5, {"n": 1}, 1.0))
    b = store.moderation.add_flag(Flag("w", "bot", 7, 0.9, {"n": 2}, 2.0))
    assert a == b and store.moderation.list_flags("w")[0].score == 0.9
    with pytest.raises(ValueError):
        store.moderation.add_flag(Flag("w", "bot", 7, 1.5, {}, 1.0))
    assert (
        store.moderation.set_flag_status("w", a, "dismissed")
        and store.moderation.list_flags("w") == []
    )
    store.moderation.add_audit(AuditEntry("w", 1, "ban", 7, "griefing", 3.0, {"hours": 1}))
    assert store.moderation.list_audit("w", 7)[0].detail == {"hours": 1}
    assert store.moderation.list_audit("w", 8) == []
    temp = store.moderation.add_ban(Ban("w", "account", "7", 100.0, "r", 1, 3.0))
    perm = store.moderation.add_ban(Ban("w", "address", "10.0.0.1", None, "r", 1, 3.0))
    assert {x.id for x in store.moderation.active_bans("w", 50.0)} == {temp, perm}
    assert {x.id for x in store.moderation.active_bans("w", 150.0)} == {perm}
    assert store.moderation.lift_ban("w", perm) and store.moderation.active_bans("w", 150.0) == []
    store.moderation.set_watch("w", 7, True, 1, "suspect")
    store.moderation.set_watch("w", 7, True, 1, "again")
    assert store.moderation.list_watch("w") == [7]
    store.moderation.set_watch("w", 7, False, 1, "")
    assert store.moderation.list_watch("w") == []
    store.moderation.record_login(Login("w", 7, "10.0.0.1", 5.0))
    store.moderation.record_login(Login("w", 8, "10.0.0.1", 6.0))
    assert [x.account_id for x in store.moderation.list_logins("w")] == [8, 7]
    assert [x.account_id for x in store.moderation.list_logins("w", 7)] == [7]
