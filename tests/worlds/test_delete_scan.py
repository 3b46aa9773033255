"""Deleting a world leaves nothing keyed to it: every table and every file the store writes is
scanned afterwards, and the other worlds' checksums are unchanged. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.worlds.rawdb import raw_rows, table_columns

from callister.store import (
    Character,
    Evidence,
    ItemMove,
    Posting,
    Store,
    WorldRecord,
    Wreck,
)
from callister.worlds import run_deletion

from .records import world_record

DOOMED = "zq-doomed"  # distinctive: a substring scan finds only real references


def record(name: str, seed: int) -> WorldRecord:
    return world_record(name, seed=seed)


def fill(store: Store, name: str, accounts: list[int], ship_base: int) -> None:
    """Rows in every table the core game writes, keyed to `name`."""
    for i, account_id in enumerate(accounts):
        ship = ship_base + i
        store.characters.save(Character(
            account_id=account_id, world=name, ship_id=ship, hull="shuttle", system_x=i,
            system_y=0, x=1.5, y=2.5, vx=0.0, vy=0.0, angle=0.0, docked_at=0, home_x=0,
            home_y=0, home_station=0, extra={"fuel": 10}))  # fmt: skip
        store.ledger.commit(
            name, f"open:{account_id}", "open", account=f"player:{account_id}",
            postings=[Posting("mint", -1000), Posting(f"player:{account_id}", 1000)],
            moves=[ItemMove("iron", 3 + i, None, f"ship:{ship}")])  # fmt: skip
        store.characters.add_discovery(account_id, name, i, 0, 1.0)
    store.ledger.commit(
        name, "drift:1", "drift", moves=[ItemMove("gold", 4, None, "station:0:0:0")]
    )
    store.ledger.commit(
        name, "death:x", "death", moves=[ItemMove("gold", 1, "station:0:0:0", "wreck:77")],
        save_wreck=Wreck(world=name, wreck_id=77, system_x=0, system_y=0, x=0.0, y=0.0,
                         expires_at=9e9, origin_account=accounts[0]),
    )  # fmt: skip
    store.characters.put_deltas(
        name, [(x, y, "field.0.richness", x * y) for x in range(5) for y in range(5)]
    )
    store.moderation.add_evidence([Evidence(world=name, account_id=accounts[0], tick=5, at=1.0,
                                            code="COOLDOWN", action="fire",
                                            detail={"ship": 1})])  # fmt: skip
    store.meta.set("tick", "1234", world=name)


def test_delete_leaves_nothing_and_other_worlds_unchanged(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    for name, seed in (("infinity", 1), ("keep", 2), (DOOMED, 3)):
        store.worlds.create(record(name, seed), None)
    admin = store.accounts.create("Root", "x", "admin")
    homed = store.accounts.create("Homed", "x")  # has a character in infinity already
    lost = store.accounts.create("Lost", "x")  # its home was the doomed world: the public one
    mover = store.accounts.create("Mover", "x")  # moved to infinity with credits and cargo
    fill(store, "infinity", [homed.id], 10)
    fill(store, "keep", [homed.id, mover.id], 20)
    fill(store, DOOMED, [homed.id, lost.id, mover.id], 30)
    store.worlds.set_home(lost.id, DOOMED)
    store.worlds.set_member(DOOMED, lost.id, "member", admin.id)
    store.worlds.set_member("keep", lost.id, "invited", admin.id)
    before = {w: store.worlds.checksum(w) for w in ("keep",)}
    infinity_before = store.worlds.checksum("infinity")
    store.deletions.create(DOOMED, admin.id, countdown_s=0, approve_by=None, override=False,
                           at=1.0)  # fmt: skip
    store.deletions.begin(DOOMED)
    seen: list[str] = []
    audit_id = run_deletion(store, DOOMED, public="infinity", home_count=1, batch=7,
                            progress=lambda t, n: seen.append(t))  # fmt: skip
    assert {"characters", "deltas", "ledger_entries", "evidence"} <= set(seen)
    # 1. no table has a world column under another name (the deletion keys on `world`)
    provenance = {"origin_world"}  # where a clone was born: history, like the audit log
    for table, cols in table_columns(store_url).items():
        other = {c for c in cols if "world" in c} - {"world"} - provenance
        assert not other, f"{table} keys worlds by {sorted(other)}: not deleted by key"
    # 2. every row of every table: nothing holds the doomed world's name but the audit log
    audit_mentions = 0
    about = 0  # audit records whose subject is the world: its subject index holds it again
    for table, rows in raw_rows(store_url).items():
        for row in rows:
            text = " ".join(str(v) for v in row)
            if DOOMED in text:
                assert table == "world_audit", f"{table} still holds {row}"
                audit_mentions += text.count(DOOMED)
                about += DOOMED in row[4]  # id, at, actor, action, subject, detail
    assert audit_mentions > 0 and about > 0
    assert store.worlds.stats(DOOMED) == {"characters": 0, "systems": 0, "rows": 0}
    # 3. every file the store writes (SQLite: the database, its WAL and shared memory): the
    # name appears only as often as the audit rows (and their index) hold it (deleted pages
    # were scrubbed)
    if store_url.startswith("sqlite"):
        folder = Path(store_url.removeprefix("sqlite:///")).parent
        in_files = sum(p.read_bytes().count(DOOMED.encode()) for p in folder.iterdir()
                       if p.is_file())  # fmt: skip
        assert in_files == audit_mentions + about, (in_files, audit_mentions, about)
    # 4. the other worlds are unchanged (infinity only gained the evacuee, which we check)
    assert {w: store.worlds.checksum(w) for w in ("keep",)} == before
    assert store.worlds.checksum("infinity") != infinity_before
    moved = store.characters.load(mover.id, "infinity")
    assert moved is not None and moved.ship_id == 32
    assert store.ledger.balance("infinity", f"player:{mover.id}") == 1000
    assert store.ledger.holdings("infinity", "ship:32") == {"iron": 5}
    assert store.characters.load(lost.id, "infinity") is not None  # fell back to public
    assert store.worlds.get_home(lost.id) is None  # its home row went with the world
    assert store.ledger.balance("infinity", f"player:{homed.id}") == 1000  # its own, untouched
    # 5. the audit record survives: who, when, what, the closed-out ledger
    audit = store.worlds.list_audit(DOOMED)
    final = next(r for r in audit if r.id == audit_id)
    assert final.action == "deleted" and final.detail["requested_by"] == admin.id
    assert sorted(final.detail["moved"]) == sorted([lost.id, mover.id])
    assert final.detail["stayed"] == [homed.id]  # had a character at home already
    assert final.detail["ledger"]["credits_total"] == 0
    assert final.detail["rows_deleted"]["deltas"] == 25
    assert [r.action for r in audit][-1] == "create"
