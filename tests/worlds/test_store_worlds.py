"""The worlds store on both backends: registry, moves (one transaction, books conserved), the
deletion job's batches and the fork."""

from __future__ import annotations

import pytest

from callister.economy.audit import audit_books
from callister.store import (
    Character,
    ItemMove,
    NameTaken,
    NoSuchCharacter,
    NotFound,
    Posting,
    Store,
    WorldRecord,
)


def world(name: str, **kw: object) -> WorldRecord:
    base: dict[str, object] = dict(
        name=name, seed=1, owner=None, visibility="public", player_limit=0, rules={}
    )
    base.update(kw)
    return WorldRecord(**base)  # type: ignore[arg-type]


def character(account_id: int, world_name: str, ship: int) -> Character:
    return Character(
        account_id=account_id, world=world_name, ship_id=ship, hull="shuttle",
        system_x=0, system_y=0, x=1.0, y=2.0, vx=0.0, vy=0.0, angle=0.0, docked_at=0,
        home_x=0, home_y=0, home_station=0, extra={},
    )  # fmt: skip


def populate(store: Store, name: str, account_id: int, ship: int) -> None:
    """A character with credits and cargo, a station stock, a delta, a wreck and evidence."""
    store.save_character(character(account_id, name, ship))
    store.commit_txn(name, f"open:{account_id}", "open", postings=[
        Posting("mint", -500), Posting(f"player:{account_id}", 500)])  # fmt: skip
    store.commit_txn(name, f"mine:{ship}", "mine", moves=[
        ItemMove("iron", 7, None, f"ship:{ship}"),
        ItemMove("gold", 2, None, "station:0:0:0")])  # fmt: skip
    store.put_delta(name, 0, 0, "field.0.richness", 3)
    store.add_discovery(account_id, name, 0, 0, 1.0)
    store.set_meta("tick", "77", world=name)


def test_registry_and_bad_names(store: Store) -> None:
    store.create_world(world("alpha", visibility="private", owner=None), None)
    with pytest.raises(NameTaken):
        store.create_world(world("alpha"), None)
    for bad in ("", "A", "x", "has space", "x" * 40, "-x", "1abc"):
        with pytest.raises(ValueError):
            store.create_world(world(bad), None)
    with pytest.raises(ValueError):
        store.create_world(world("beta", visibility="secret"), None)
    assert [w.name for w in store.list_worlds()] == ["alpha"]
    assert store.ensure_world(world("alpha", seed=9)).seed == 1  # existing record wins
    assert "characters" in store.world_tables() and "world_audit" not in store.world_tables()


def test_move_is_one_transaction_and_conserves_books(store: Store) -> None:
    a = store.create_account("mover", "h")
    store.create_world(world("src"), None)
    store.create_world(world("dst", seed=2), None)
    populate(store, "src", a.id, 1001)
    result = store.move_character(
        a.id, "src", "dst", placement={"system_x": 5, "system_y": 6, "docked_at": None}
    )
    assert result.credits == 500 and result.cargo == {"iron": 7}
    assert store.load_character(a.id, "src") is None
    moved = store.load_character(a.id, "dst")
    assert moved is not None and (moved.system_x, moved.system_y, moved.ship_id) == (5, 6, 1001)
    assert store.balance("dst", f"player:{a.id}") == 500
    assert store.balance("src", f"player:{a.id}") == 0
    assert store.holdings("dst", "ship:1001") == {"iron": 7}
    assert store.holdings("src", "ship:1001") == {}
    for w in ("src", "dst"):  # each world's books still balance and conserve every item
        assert audit_books(store, w)["balanced"], audit_books(store, w)["problems"]
    # the starting grant is not given again in the destination
    assert store.get_txn("dst", f"open:{a.id}") is not None
    # refusals write nothing
    with pytest.raises(NoSuchCharacter, match="no character in world 'src' to move"):
        store.move_character(a.id, "src", "dst")
    store.save_character(character(a.id, "src", 1002))
    with pytest.raises(ValueError):
        store.move_character(a.id, "src", "dst")  # already one in dst
    with pytest.raises(NotFound):
        store.move_character(a.id, "src", "nowhere")
    with pytest.raises(ValueError):
        store.move_character(a.id, "src", "src")
    with pytest.raises(ValueError):
        store.move_character(a.id, "src", "dst", placement={"bogus": 1})
    audit = store.list_world_audit(str(a.id))
    assert [r.action for r in audit] == ["move"] and audit[0].detail["to"] == "dst"


def test_delete_batches_and_finish(store: Store) -> None:
    a = store.create_account("doomed", "h")
    store.create_world(world("keep"), None)
    store.create_world(world("gone"), None)
    populate(store, "keep", a.id, 2001)
    populate(store, "gone", a.id, 2002)
    before = store.world_checksum("keep")
    store.create_deletion_job("gone", a.id, countdown_s=0, approve_by=None, override=False, at=1.0)
    with pytest.raises(ValueError):
        store.create_deletion_job("gone", a.id, countdown_s=0, approve_by=None, override=False,
                                  at=1.0)  # fmt: skip
    store.begin_deleting("gone")
    with pytest.raises(ValueError):
        store.finish_world_deletion("gone", {})  # rows remain: refused
    for table in store.world_tables():
        if table in ("worlds", "world_jobs"):
            with pytest.raises(ValueError):
                store.delete_world_batch("gone", table, 10)
            continue
        while store.delete_world_batch("gone", table, 1):
            pass
    audit_id = store.finish_world_deletion("gone", {"ledger": {}})
    assert store.get_world("gone") is None and store.get_deletion_job("gone") is None
    assert store.get_meta("tick", world="gone") is None
    assert store.get_meta("tick", world="keep") == "77"
    assert store.world_stats("gone")["rows"] == 0
    assert store.world_checksum("keep") == before
    record = store.list_world_audit("gone")[0]
    assert record.id == audit_id and record.action == "deleted"
    assert record.detail["rows_deleted"]["characters"] == 1
    store.scrub()


def test_approval_flow(store: Store) -> None:
    a = store.create_account("admin1", "h", "admin")
    b = store.create_account("admin2", "h", "admin")
    store.create_world(world("w2"), None)
    job = store.create_deletion_job("w2", a.id, countdown_s=5, approve_by=100.0, override=False,
                                    at=1.0)  # fmt: skip
    assert job.state == "approval"
    with pytest.raises(ValueError):
        store.approve_deletion("w2", a.id, 2.0)  # not the requester
    with pytest.raises(ValueError):
        store.approve_deletion("w2", b.id, 101.0)  # too late
    job = store.approve_deletion("w2", b.id, 3.0)
    assert job.state == "countdown" and job.ends_at == 8.0 and job.approvals[0]["by"] == b.id
    assert store.cancel_deletion("w2", a.id, "changed my mind")
    assert store.get_deletion_job("w2") is None


def test_fork_copies_state_and_books(store: Store) -> None:
    a = store.create_account("forker", "h")
    store.create_world(world("origin"), None)
    populate(store, "origin", a.id, 3001)
    seen: list[tuple[int, int]] = []
    out = store.fork_world("origin", world("copy"), actor=None, spatial=True,
                           progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert out["rows"]["characters"] == 1 and "evidence" in out["skipped"]
    assert out["rows"]["meta"] == 1 and store.get_meta("tick", world="copy") == "77"
    assert seen and seen[-1][0] == seen[-1][1]
    assert store.balance("copy", f"player:{a.id}") == 500
    assert store.holdings("copy", "ship:3001") == {"iron": 7}
    assert store.holdings("copy", "station:0:0:0") == {"gold": 2}
    assert store.get_deltas("copy", 0, 0) == {"field.0.richness": 3}
    assert audit_books(store, "copy")["balanced"]
    fresh = store.fork_world(
        "origin", world("newseed", seed=5), actor=None, spatial=False,
        placement=lambda acc: {"system_x": 9, "system_y": 9},
    )  # fmt: skip
    assert fresh["rows"]["holdings"] == 1
    c = store.load_character(a.id, "newseed")
    assert c is not None and c.system_x == 9
    assert store.get_deltas("newseed", 0, 0) == {}
    assert audit_books(store, "newseed")["balanced"]
    with pytest.raises(NameTaken):
        store.fork_world("origin", world("copy"), actor=None, spatial=True)
    with pytest.raises(NotFound):
        store.fork_world("nope", world("copy2"), actor=None, spatial=True)


def test_move_takes_the_crew_aboard_with_its_memories(store: Store) -> None:
    from callister.store import CloneRow, MemoryRow

    a = store.create_account("captain", "h")
    store.create_world(world("src"), None)
    store.create_world(world("dst", seed=2), None)
    populate(store, "src", a.id, 4001)

    def clone(clone_id: int, ship: int | None) -> CloneRow:
        memory = MemoryRow(
            seq=1, tick=1, kind="observation", importance=5.0, event="saw", entities=(),
            text="a rock", embedding=bytes(1024), last_access=1,
        )  # fmt: skip
        return CloneRow(
            id=clone_id, world="src", name=f"crew{clone_id}", role="pilot", goal="crew",
            ship_id=ship, owner_id=a.id, subject_id=None, consent_id=None, licence="generated",
            parent_id=None, fork_tick=None, generation=0, origin_world="src", born_tick=1,
            alive=True, died_tick=None, death_cause="", doc={}, next_memory=2,
            memories=(memory,),
        )  # fmt: skip

    aboard, ashore = 2**61 + 1, 2**61 + 2
    store.put_clone(clone(aboard, 4001))
    store.put_clone(clone(ashore, None))
    result = store.move_character(a.id, "src", "dst")
    assert result.moved_rows == {"clones": 1, "clone_memories": 1, "clone_relationships": 0}
    moved, stayed = store.get_clone(aboard), store.get_clone(ashore)
    assert moved is not None and moved.world == "dst" and len(moved.memories) == 1
    assert stayed is not None and stayed.world == "src"


def test_hired_crew_moves_with_its_document_pointing_home(store: Store) -> None:
    """A crew clone's stored document names its world too; a move rewrites it, so the clone
    loaded in the destination is of the destination (saved again, it stays there) while its
    lineage still says where it was born."""
    from tests.agents._support import make_clone

    from callister.server.crew import clone_to_row, row_to_clone

    a = store.create_account("captain", "h")
    store.create_world(world("src"), None)
    store.create_world(world("dst", seed=2), None)
    populate(store, "src", a.id, 5001)
    hired = make_clone(2**61 + 7, name="Vega", world="src")
    store.put_clone(clone_to_row(hired, 5001))
    store.move_character(a.id, "src", "dst")
    row = store.get_clone(hired.id)
    assert row is not None and row.world == "dst" and row.doc["world"] == "dst"
    back = row_to_clone(row)
    assert back.world == "dst" and back.lineage.origin_world == "src"
    store.put_clone(clone_to_row(back, 5001))  # the crew is saved again by the destination
    again = store.get_clone(hired.id)
    assert again is not None and again.world == "dst"


def test_world_meta_is_keyed_by_world(store: Store) -> None:
    store.create_world(world("kw_1"), None)
    store.create_world(world("kw-1"), None)
    store.set_meta("tick", "1", world="kw_1")
    store.set_meta("tick", "2", world="kw-1")
    store.set_meta("tick", "3")  # a server-wide key of the same name is another key
    assert [store.get_meta("tick", world=w) for w in ("kw_1", "kw-1")] == ["1", "2"]
    assert store.get_meta("tick") == "3" and store.get_meta("tick", world="kwz1") is None
    with pytest.raises(ValueError, match="world=<name>"):
        store.set_meta("world.kw_1.tick", "9")  # the old string-built key is refused
    for bad in ("", "Bad Name", "x"):
        with pytest.raises(ValueError, match="world name"):
            store.set_meta("tick", "1", world=bad)
    # a spatial fork takes the world's clock along; a new-seed fork starts its own
    store.fork_world("kw_1", world("kw-copy"), actor=None, spatial=True)
    assert store.get_meta("tick", world="kw-copy") == "1"
    store.fork_world("kw_1", world("kw-new", seed=9), actor=None, spatial=False,
                     placement=lambda account: {"system_x": 1})  # fmt: skip
    assert store.get_meta("tick", world="kw-new") is None
    assert "meta" in store.world_tables()
