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
    fid = store.save_footage(FootageRecord("w", "w.0.0", 10, 20, 1.0, "report", 3, b"\x00\x01\x02"))
    rid = store.add_report(report(footage_id=fid, chat=[{"from": "a", "text": "hi"}]))
    got = store.get_report("w", rid)
    assert got is not None and got.text == "<b>he</b> keeps ramming me"
    assert got.footage_id == fid and got.chat == [{"from": "a", "text": "hi"}]
    assert [r.id for r in store.list_reports("w")] == [rid]
    assert store.list_reports("other") == []
    assert store.set_report_status("w", rid, "closed")
    assert store.list_reports("w") == [] and len(store.list_reports("w", None)) == 1
    f = store.get_footage("w", fid)
    assert f is not None and f.data == b"\x00\x01\x02" and f.size == 3
    assert store.list_footage("w")[0].data == b""
    assert store.get_footage("w", 999) is None


@pytest.mark.parametrize(
    "bad",
    [
        dict(reason="because"), dict(target_kind="planet"), dict(text="x" * 1001),
        dict(text="bell\x07"), dict(world=""), dict(reporter_id=True),
    ],
)  # fmt: skip
def test_bad_reports_are_refused(store: Store, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        store.add_report(report(**bad))
    assert store.list_reports("w", None) == []


def test_flags_upsert_audit_bans_watch_logins(store: Store) -> None:
    a = store.add_flag(Flag("w", "bot", 7, 0.5, {"n": 1}, 1.0))
    b = store.add_flag(Flag("w", "bot", 7, 0.9, {"n": 2}, 2.0))
    assert a == b and store.list_flags("w")[0].score == 0.9
    with pytest.raises(ValueError):
        store.add_flag(Flag("w", "bot", 7, 1.5, {}, 1.0))
    assert store.set_flag_status("w", a, "dismissed") and store.list_flags("w") == []
    store.add_audit(AuditEntry("w", 1, "ban", 7, "griefing", 3.0, {"hours": 1}))
    assert store.list_audit("w", 7)[0].detail == {"hours": 1}
    assert store.list_audit("w", 8) == []
    temp = store.add_ban(Ban("w", "account", "7", 100.0, "r", 1, 3.0))
    perm = store.add_ban(Ban("w", "address", "10.0.0.1", None, "r", 1, 3.0))
    assert {x.id for x in store.active_bans("w", 50.0)} == {temp, perm}
    assert {x.id for x in store.active_bans("w", 150.0)} == {perm}
    assert store.lift_ban("w", perm) and store.active_bans("w", 150.0) == []
    store.set_watch("w", 7, True, 1, "suspect")
    store.set_watch("w", 7, True, 1, "again")
    assert store.list_watch("w") == [7]
    store.set_watch("w", 7, False, 1, "")
    assert store.list_watch("w") == []
    store.record_login(Login("w", 7, "10.0.0.1", 5.0))
    store.record_login(Login("w", 8, "10.0.0.1", 6.0))
    assert [x.account_id for x in store.list_logins("w")] == [8, 7]
    assert [x.account_id for x in store.list_logins("w", 7)] == [7]
