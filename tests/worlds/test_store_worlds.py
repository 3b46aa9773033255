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
)

from .records import world_record


def character(account_id: int, world_name: str, ship: int) -> Character:
    return Character(
        account_id=account_id, world=world_name, ship_id=ship, hull="shuttle",
        system_x=0, system_y=0, x=1.0, y=2.0, vx=0.0, vy=0.0, angle=0.0, docked_at=0,
        home_x=0, home_y=0, home_station=0, extra={},
    )  # fmt: skip


def populate(store: Store, name: str, account_id: int, ship: int) -> None:
    """A character with credits and cargo, a station stock, a delta, a wreck and evidence."""
    store.characters.save(character(account_id, name, ship))
    store.ledger.commit(name, f"open:{account_id}", "open", postings=[
        Posting("mint", -500), Posting(f"player:{account_id}", 500)])  # fmt: skip
    store.ledger.commit(name, f"mine:{ship}", "mine", moves=[
        ItemMove("iron", 7, None, f"ship:{ship}"),
        ItemMove("gold", 2, None, "station:0:0:0")])  # fmt: skip
    store.characters.put_delta(name, 0, 0, "field.0.richness", 3)
    store.characters.add_discovery(account_id, name, 0, 0, 1.0)
    store.meta.set("tick", "77", world=name)


def test_registry_and_bad_names(store: Store) -> None:
    store.worlds.create(world_record("alpha", visibility="private", owner=None), None)
    with pytest.raises(NameTaken):
        store.worlds.create(world_record("alpha"), None)
    for bad in ("", "A", "x", "has space", "x" * 40, "-x", "1abc"):
        with pytest.raises(ValueError):
            store.worlds.create(world_record(bad), None)
    with pytest.raises(ValueError):
        store.worlds.create(world_record("beta", visibility="secret"), None)
    assert [w.name for w in store.worlds.all()] == ["alpha"]
    assert store.worlds.ensure(world_record("alpha", seed=9)).seed == 1  # existing record wins
    assert "characters" in store.worlds.tables() and "world_audit" not in store.worlds.tables()


def test_move_is_one_transaction_and_conserves_books(store: Store) -> None:
    a = store.accounts.create("mover", "h")
    store.worlds.create(world_record("src"), None)
    store.worlds.create(world_record("dst", seed=2), None)
    populate(store, "src", a.id, 1001)
    result = store.worlds.move_character(
        a.id, "src", "dst", placement={"system_x": 5, "system_y": 6, "docked_at": None}
    )
    assert result.credits == 500 and result.cargo == {"iron": 7}
    assert store.characters.load(a.id, "src") is None
    moved = store.characters.load(a.id, "dst")
    assert moved is not None and (moved.system_x, moved.system_y, moved.ship_id) == (5, 6, 1001)
    assert store.ledger.balance("dst", f"player:{a.id}") == 500
    assert store.ledger.balance("src", f"player:{a.id}") == 0
    assert store.ledger.holdings("dst", "ship:1001") == {"iron": 7}
    assert store.ledger.holdings("src", "ship:1001") == {}
    for w in ("src", "dst"):  # each world's books still balance and conserve every item
        assert audit_books(store, w)["balanced"], audit_books(store, w)["problems"]
    # the starting grant is not given again in the destination
    assert store.ledger.get_txn("dst", f"open:{a.id}") is not None
    # refusals write nothing
    with pytest.raises(NoSuchCharacter, match="no character in world 'src' to move"):
        store.worlds.move_character(a.id, "src", "dst")
    store.characters.save(character(a.id, "src", 1002))
    with pytest.raises(ValueError):
        store.worlds.move_character(a.id, "src", "dst")  # already one in dst
    with pytest.raises(NotFound):
        store.worlds.move_character(a.id, "src", "nowhere")
    with pytest.raises(ValueError):
        store.worlds.move_character(a.id, "src", "src")
    with pytest.raises(ValueError):
        store.worlds.move_character(a.id, "src", "dst", placement={"bogus": 1})
    audit = store.worlds.list_audit(str(a.id))
    assert [r.action for r in audit] == ["move"] and audit[0].detail["to"] == "dst"


def test_delete_batches_and_finish(store: Store) -> None:
    a = store.accounts.create("doomed", "h")
    store.worlds.create(world_record("keep"), None)
    store.worlds.create(world_record("gone"), None)
    populate(store, "keep", a.id, 2001)
    populate(store, "gone", a.id, 2002)
    before = store.worlds.checksum("keep")
    store.deletions.create("gone", a.id, countdown_s=0, approve_by=None, override=False, at=1.0)
    with pytest.raises(ValueError):
        store.deletions.create("gone", a.id, countdown_s=0, approve_by=None, override=False,
                               at=1.0)  # fmt: skip
    store.deletions.begin("gone")
    with pytest.raises(ValueError):
        store.deletions.finish("gone", {})  # rows remain: refused
    for table in store.worlds.tables():
        if table in ("worlds", "world_jobs"):
            with pytest.raises(ValueError):
                store.deletions.delete_batch("gone", table, 10)
            continue
        while store.deletions.delete_batch("gone", table, 1):
            pass
    audit_id = store.deletions.finish("gone", {"ledger": {}})
    assert store.worlds.get("gone") is None and store.deletions.get("gone") is None
    assert store.meta.get("tick", world="gone") is None
    assert store.meta.get("tick", world="keep") == "77"
    assert store.worlds.stats("gone")["rows"] == 0
    assert store.worlds.checksum("keep") == before
    record = store.worlds.list_audit("gone")[0]
    assert record.id == audit_id and record.action == "deleted"
    assert record.detail["rows_deleted"]["characters"] == 1
    store.deletions.scrub()


def test_approval_flow(store: Store) -> None:
    a = store.accounts.create("admin1", "h", "admin")
    b = store.accounts.create("admin2", "h", "admin")
    store.worlds.create(world_record("w2"), None)
    job = store.deletions.create("w2", a.id, countdown_s=5, approve_by=100.0, override=False,
                                 at=1.0)  # fmt: skip
    assert job.state == "approval"
    with pytest.raises(ValueError):
        store.deletions.approve("w2", a.id, 2.0)  # not the requester
    with pytest.raises(ValueError):
        store.deletions.approve("w2", b.id, 101.0)  # too late
    job = store.deletions.approve("w2", b.id, 3.0)
    assert job.state == "countdown" and job.ends_at == 8.0 and job.approvals[0]["by"] == b.id
    assert store.deletions.cancel("w2", a.id, "changed my mind")
    assert store.deletions.get("w2") is None


def test_fork_copies_state_and_books(store: Store) -> None:
    a = store.accounts.create("forker", "h")
    store.worlds.create(world_record("origin"), None)
    populate(store, "origin", a.id, 3001)
    seen: list[tuple[int, int]] = []
    out = store.worlds.fork("origin", world_record("copy"), actor=None, spatial=True,
                            progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert out["rows"]["characters"] == 1 and "evidence" in out["skipped"]
    assert out["rows"]["meta"] == 1 and store.meta.get("tick", world="copy") == "77"
    assert seen and seen[-1][0] == seen[-1][1]
    assert store.ledger.balance("copy", f"player:{a.id}") == 500
    assert store.ledger.holdings("copy", "ship:3001") == {"iron": 7}
    assert store.ledger.holdings("copy", "station:0:0:0") == {"gold": 2}
    assert store.characters.get_deltas("copy", 0, 0) == {"field.0.richness": 3}
    assert audit_books(store, "copy")["balanced"]
    fresh = store.worlds.fork(
        "origin", world_record("newseed", seed=5), actor=None, spatial=False,
        placement=lambda acc: {"system_x": 9, "system_y": 9},
    )  # fmt: skip
    assert fresh["rows"]["holdings"] == 1
    c = store.characters.load(a.id, "newseed")
    assert c is not None and c.system_x == 9
    assert store.characters.get_deltas("newseed", 0, 0) == {}
    assert audit_books(store, "newseed")["balanced"]
    with pytest.raises(NameTaken):
        store.worlds.fork("origin", world_record("copy"), actor=None, spatial=True)
    with pytest.raises(NotFound):
        store.worlds.fork("nope", world_record("copy2"), actor=None, spatial=True)


def test_move_takes_the_crew_aboard_with_its_memories(store: Store) -> None:
    from callister.store import CloneRow, MemoryRow

    a = store.accounts.create("captain", "h")
    store.worlds.create(world_record("src"), None)
    store.worlds.create(world_record("dst", seed=2), None)
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
    store.clones.put(clone(aboard, 4001))
    store.clones.put(clone(ashore, None))
    result = store.worlds.move_character(a.id, "src", "dst")
    assert result.moved_rows == {"clones": 1, "clone_memories": 1, "clone_relationships": 0}
    moved, stayed = store.clones.get(aboard), store.clones.get(ashore)
    assert moved is not None and moved.world == "dst" and len(moved.memories) == 1
    assert stayed is not None and stayed.world == "src"


def test_hired_crew_moves_with_its_document_pointing_home(store: Store) -> None:
    """A crew clone's stored document names its world too; a move rewrites it, so the clone
    loaded in the destination is of the destination (saved again, it stays there) while its
    lineage still says where it was born."""
    from tests.agents._support import make_clone

    from callister.server.crew import clone_to_row, row_to_clone

    a = store.accounts.create("captain", "h")
    store.worlds.create(world_record("src"), None)
    store.worlds.create(world_record("dst", seed=2), None)
    populate(store, "src", a.id, 5001)
    hired = make_clone(2**61 + 7, name="Vega", world="src")
    store.clones.put(clone_to_row(hired, 5001))
    store.worlds.move_character(a.id, "src", "dst")
    row = store.clones.get(hired.id)
    assert row is not None and row.world == "dst" and row.doc["world"] == "dst"
    back = row_to_clone(row)
    assert back.world == "dst" and back.lineage.origin_world == "src"
    store.clones.put(clone_to_row(back, 5001))  # the crew is saved again by the destination
    again = store.clones.get(hired.id)
    assert again is not None and again.world == "dst"


def test_world_meta_is_keyed_by_world(store: Store) -> None:
    store.worlds.create(world_record("kw_1"), None)
    store.worlds.create(world_record("kw-1"), None)
    store.meta.set("tick", "1", world="kw_1")
    store.meta.set("tick", "2", world="kw-1")
    store.meta.set("tick", "3")  # a server-wide key of the same name is another key
    assert [store.meta.get("tick", world=w) for w in ("kw_1", "kw-1")] == ["1", "2"]
    assert store.meta.get("tick") == "3" and store.meta.get("tick", world="kwz1") is None
    with pytest.raises(ValueError, match="world=<name>"):
        store.meta.set("world.kw_1.tick", "9")  # the old string-built key is refused
    for bad in ("", "Bad Name", "x"):
        with pytest.raises(ValueError, match="world name"):
            store.meta.set("tick", "1", world=bad)
    # a spatial fork takes the world's clock along; a new-seed fork starts its own
    store.worlds.fork("kw_1", world_record("kw-copy"), actor=None, spatial=True)
    assert store.meta.get("tick", world="kw-copy") == "1"
    store.worlds.fork("kw_1", world_record("kw-new", seed=9), actor=None, spatial=False,
                      placement=lambda account: {"system_x": 1})  # fmt: skip
    assert store.meta.get("tick", world="kw-new") is None
    assert "meta" in store.worlds.tables()
