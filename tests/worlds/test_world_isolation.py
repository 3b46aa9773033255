"""The kill switch deletes one world's rows and nothing else, however alike the names.

Worlds `kw_1`, `kw-1` and `kwz1` hold data in every table that has a `world` column (the
tables are discovered from the schema, so a table added later fails this test until the filler
below writes it); deleting `kw_1` leaves the other two byte-identical, read with the database
driver, and their checksums unchanged. `_` is a LIKE wildcard: a pattern over `world.kw_1.%`
matches `world.kw-1.…` and `world.kwz1.…`. The cluster's tables are filled too (every store
has them: a cluster deployment keeps its zone state in the same database). On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import dataclasses

from tests.agents._support import make_clone
from tests.examples import FRONTIER_PACK
from tests.worlds.rawdb import raw_rows, table_columns, world_rows

from callister.cluster import fencing, outbox
from callister.content import ContentPack
from callister.server.crew import clone_to_row
from callister.sim.events import ShipState
from callister.store import (
    AuditEntry,
    Ban,
    Character,
    Evidence,
    Flag,
    FootageRecord,
    ItemMove,
    Login,
    MemoryRow,
    Posting,
    RelationshipRow,
    Report,
    Start,
    Store,
    WorldRecord,
    Wreck,
)
from callister.worlds import run_deletion
from callister.worlds.content import set_pack

from .records import world_record

DOOMED = "kw_1"
LOOKALIKES = ("kw-1", "kwz1")
PUBLIC = "infinity"


def record(name: str, seed: int) -> WorldRecord:
    return world_record(name, seed=seed, visibility="invite", rules={"pvp": False})


def ship_state(ship: int, owner: int) -> ShipState:
    return ShipState(id=ship, owner=owner, hull="shuttle", x=1.0, y=2.0, vx=0.0, vy=0.0,
                     angle=0.0, docked_at=None)  # fmt: skip


def fill(store: Store, name: str, n: int, admin: int) -> None:
    """Rows of `name` in every world table (n: a small number that keeps ids apart)."""
    a = store.accounts.create(f"dweller{n}", "x")
    ship, wreck, clone_id = 1000 * n, 2000 * n, 2**61 + n
    store.characters.save(Character(
        account_id=a.id, world=name, ship_id=ship, hull="shuttle", system_x=n, system_y=0,
        x=1.5, y=2.5, vx=0.0, vy=0.0, angle=0.0, docked_at=0, home_x=0, home_y=0,
        home_station=0, extra={"fuel": 10 + n}))  # fmt: skip
    store.ledger.commit(name, f"open:{a.id}", "open", account=f"player:{a.id}",
                        postings=[Posting("mint", -1000 - n), Posting(f"player:{a.id}", 1000 + n)],
                        moves=[ItemMove("iron", 3 + n, None, f"ship:{ship}")])  # fmt: skip
    store.ledger.commit(
        name, f"death:{n}", "death", moves=[ItemMove("gold", 1, None, f"wreck:{wreck}")],
        save_wreck=Wreck(world=name, wreck_id=wreck, system_x=0, system_y=0, x=0.0, y=0.0,
                         expires_at=9e9, origin_account=a.id),
    )  # fmt: skip
    store.characters.put_delta(name, 0, n, "field.0.richness", n)
    store.characters.add_discovery(a.id, name, 0, n, 1.0)
    # friends together: an invite link, a start it gave, a party (issue 16)
    friend = store.accounts.create(f"friend{n}", "x")
    code = f"{n:064x}"  # a SHA-256-shaped hash, unique per world
    store.invites.create(code, a.id, name, expires_at=9e9, max_uses=2)
    store.invites.redeem(code, Start(friend.id, name, n, 0, 0, invited_by=a.id), now=1.0)
    store.parties.join(name, a.id, friend.id, max_size=4, now=1.0)
    # the character's missions: tutorial, contracts, reputation (issue 16)
    store.missions.save(a.id, name, {"v": 1, "tutorial": {"step": n}, "reputation": {"ashen": n}})
    store.moderation.add_evidence([Evidence(world=name, account_id=a.id, tick=n, at=1.0,
                                            code="COOLDOWN", action="fire",
                                            detail={"n": n})])  # fmt: skip
    store.meta.set("tick", str(1000 + n), world=name)
    # a hired crew member aboard the ship, with a memory and a relationship
    crew = clone_to_row(make_clone(clone_id, name=f"Crew{n}", world=name), ship)
    crew = dataclasses.replace(crew, owner_id=a.id, relationships=(
        RelationshipRow(entity=a.id, name="captain", trust=0.5, affinity=0.5, hostile=False,
                        attacks=0, helps=1, last_tick=n),))  # fmt: skip
    assert crew.memories and isinstance(crew.memories[0], MemoryRow)
    store.clones.put(crew)
    store.clones.world_key(name, f"-----BEGIN PRIVATE KEY-----{n}")
    store.clones.trust_key(name, bytes([n]) * 32, f"friend of {name}")
    footage = store.moderation.save_footage(FootageRecord(
        world=name, zone=f"{name}.0.0", start_tick=0, end_tick=10, at=1.0, reason="moderator",
        size=3, data=b"abc"))  # fmt: skip
    store.moderation.add_report(Report(
        world=name, reporter_id=a.id, target_kind="player", target=str(a.id),
        target_account=a.id, reason="spam", text="hi", at=1.0, zone=f"{name}.0.0",
        footage_id=footage))  # fmt: skip
    store.moderation.add_flag(Flag(world=name, detector="bot", account_id=a.id, score=0.5,
                                   evidence={"n": n}, at=1.0))  # fmt: skip
    store.moderation.add_audit(AuditEntry(world=name, moderator_id=admin, action="warn",
                                          target_account=a.id, reason="r", at=1.0))  # fmt: skip
    store.moderation.add_ban(Ban(world=name, kind="address", value=f"10.0.0.{n}", until=None,
                                 reason="r", by=admin, at=1.0))  # fmt: skip
    store.moderation.set_watch(name, a.id, True, admin, "r")
    store.moderation.record_login(Login(world=name, account_id=a.id, address=f"10.0.0.{n}", at=1.0))
    store.worlds.set_member(name, a.id, "member", admin)
    store.worlds.set_home(a.id, name)
    # the world's content pack: two versions (the example pack, then cleared)
    set_pack(store, name, ContentPack.from_dir(FRONTIER_PACK), admin)
    set_pack(store, name, None, admin)
    # the cluster's zone state: a fence and checkpoint, a resident ship, a hand-off in flight
    zone, there = f"{name}.0.0", f"{name}.1.0"
    store.cluster.claim(zone, 1, "w")
    store.cluster.claim(there, 1, "w")
    fencing.add_ship(store.cluster, zone, 1, "w", ship_state(ship, a.id))
    fencing.add_ship(store.cluster, zone, 1, "w", ship_state(ship + 1, a.id))
    fencing.checkpoint(store.cluster, zone, 1, "w", tick=5, payload='{"n": 1}')
    outbox.depart(store.cluster, from_zone=zone, to_zone=there, token=1, owner="w",
                  state=ship_state(ship + 1, a.id))  # fmt: skip


def test_deleting_kw_1_leaves_kw_dash_1_and_kwz1_byte_identical(
    store: Store, store_url: str
) -> None:
    admin = store.accounts.create("Root", "x", "admin")
    second = store.accounts.create("Root2", "x", "admin")
    store.worlds.create(record(PUBLIC, 1), None)
    store.meta.set("motd", "server-wide")  # a key of no world: never deleted with one
    for n, name in enumerate((DOOMED, *LOOKALIKES), start=1):
        store.worlds.create(record(name, 10 + n), admin.id)
        fill(store, name, n, admin.id)
    for name in LOOKALIKES:  # their own deletion jobs, waiting for approval
        store.deletions.create(name, admin.id, countdown_s=60, approve_by=9e9,
                               override=False, at=1.0)  # fmt: skip
    store.deletions.create(DOOMED, admin.id, countdown_s=0, approve_by=9e9, override=False,
                           at=1.0)  # fmt: skip
    store.deletions.approve(DOOMED, second.id, 2.0)

    # every world table holds rows of every world: the test covers each table there is
    tables = store.worlds.tables()
    assert {"meta", "clones", "cluster_ships", "mod_bans", "world_jobs"} <= set(tables)
    for name in (DOOMED, *LOOKALIKES):
        rows = world_rows(store_url, name)
        empty = sorted(t for t in tables if not rows.get(t))
        assert not empty, f"no rows of {name} in {empty}: write them in fill()"
    before = {name: world_rows(store_url, name) for name in LOOKALIKES}
    checksums = {name: store.worlds.checksum(name) for name in LOOKALIKES}

    store.deletions.begin(DOOMED)
    run_deletion(store, DOOMED, public=PUBLIC, home_count=1, batch=2)

    for name in LOOKALIKES:
        after = world_rows(store_url, name)
        for table in tables:
            assert after.get(table) == before[name].get(table), f"{table} of {name} changed"
        assert store.worlds.checksum(name) == checksums[name]
        assert store.meta.get("tick", world=name) is not None
    assert store.meta.get("motd") == "server-wide"
    assert store.worlds.get(DOOMED) is None and store.worlds.stats(DOOMED)["rows"] == 0
    assert all(not rows for rows in world_rows(store_url, DOOMED).values())
    # nothing but the audit log and history (where a clone was born, what it remembers)
    # names the deleted world; in particular the evacuated crew member's document does not
    columns = table_columns(store_url)
    for table, rows in raw_rows(store_url).items():
        if table in ("world_audit", "clone_memories"):
            continue
        for row in rows:
            values = dict(zip(columns[table], row, strict=True))
            if table == "clones":
                values.pop("origin_world")
                values["doc"] = values["doc"].replace(f'"origin_world":"{DOOMED}"', "")
                values["doc"] = values["doc"].replace(f'"world":"{DOOMED}","tick"', "")
            assert DOOMED not in " ".join(map(str, values.values())), (table, values)
