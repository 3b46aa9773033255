"""A world's content pack and generator parameters in the store (worlds/content.py, store/
content.py), on SQLite and PostgreSQL: versions and their limits, the stated rule for a ship
whose hull (module, cargo) the destination lacks, forks, and params fixed for a world's life."""

from __future__ import annotations

import dataclasses

import pytest
from tests.examples import FRONTIER_PACK

from callister.content import ContentError, ContentPack, load_content
from callister.economy.audit import audit_books
from callister.store import Character, ItemMove, NotFound, Posting, Store, WorldRecord
from callister.store.content import MAX_STORED_PACK, MAX_VERSIONS
from callister.universe import GeneratorParams, generate_system
from callister.worlds.content import (
    ParamsFixed,
    arrival_refit,
    move_character,
    refuse_params_change,
    set_pack,
    stored_params,
    world_content,
    world_params,
)

from .records import world_record


def record(name: str, **kw: object) -> WorldRecord:
    """A private world on seed 3 (its home station has a shipyard)."""
    return world_record(name, **({"seed": 3, "visibility": "private"} | kw))


def pack() -> ContentPack:
    return ContentPack.from_dir(FRONTIER_PACK)


def corsair_pilot(store: Store, world: str, name: str, ship: int) -> Character:
    account_id = store.accounts.create(name, "x").id
    c = Character(
        account_id=account_id, world=world, ship_id=ship, hull="corsair", system_x=0,
        system_y=0, x=1.0, y=2.0, vx=0.0, vy=0.0, angle=0.0, docked_at=0, home_x=0, home_y=0,
        home_station=0, extra={"hull_hp": 110.0, "weapons": ["flak", "heavy_laser", "missile"],
                               "ammo": [50, 0, 3], "insured": True, "fuel": 99.0},
    )  # fmt: skip
    store.characters.save(c)
    store.ledger.commit(world, f"open:{account_id}", "open", postings=[
        Posting("mint", -1000), Posting(f"player:{account_id}", 1000)],
        moves=[ItemMove("contraband", 2, None, f"ship:{ship}"),
               ItemMove("iron", 5, None, f"ship:{ship}")])  # fmt: skip
    return c


def test_versions_are_kept_audited_and_limited(store: Store) -> None:
    store.worlds.create(record("frontier"), None)
    admin = store.accounts.create("Root", "x", "admin").id
    assert store.content.current("frontier") is None
    assert world_content(store, "frontier") is load_content()  # no pack: the base
    first = set_pack(store, "frontier", pack(), admin)
    assert (first.version, first.name, first.pack_version) == (1, "frontier", "1.0.0")
    assert first.digest == pack().digest and 0 < first.bytes <= MAX_STORED_PACK
    assert "corsair" in world_content(store, "frontier").hulls
    cleared = set_pack(store, "frontier", None, admin)
    assert cleared.version == 2 and cleared.pack is None
    assert "corsair" not in world_content(store, "frontier").hulls
    again = set_pack(store, "frontier", pack(), admin)
    assert again.version == 3 and [r.version for r in store.content.history("frontier")] == [
        3,
        2,
        1,
    ]
    assert store.content.get("frontier", 1) is not None
    audit = [r for r in store.worlds.list_audit("frontier") if r.action == "content_set"]
    assert [r.detail["version"] for r in audit] == [3, 2, 1] and audit[0].actor == admin
    # each set is a new version; only the newest MAX_VERSIONS are kept
    for _ in range(MAX_VERSIONS):
        set_pack(store, "frontier", None, admin)
    kept = store.content.history("frontier")
    assert len(kept) == MAX_VERSIONS and kept[-1].version == 4
    assert store.content.versions() == {"frontier": 3 + MAX_VERSIONS}


def test_bad_packs_are_refused_before_anything_is_stored(store: Store) -> None:
    store.worlds.create(record("frontier"), None)
    files = dict(pack().files)
    files["hulls.toml"] = files["hulls.toml"].replace('"flak", ', '"flack", ')
    with pytest.raises(ContentError) as err:
        set_pack(store, "frontier", ContentPack.from_files(files), None)
    e = err.value
    assert (e.file, e.entry, e.field) == ("hulls.toml", "corsair", "loadout")
    assert store.content.current("frontier") is None
    # the store's own guards: an unknown world, a bad shape, too many bytes
    with pytest.raises(NotFound):
        set_pack(store, "nowhere", pack(), None)
    with pytest.raises(ValueError):
        store.content.set("frontier", {"files": "x"}, None)
    huge = {**pack().to_json(), "files": {"pack.toml": "#" * (MAX_STORED_PACK + 1)}}
    with pytest.raises(ValueError, match="bytes"):
        store.content.set("frontier", huge, None)
    assert store.content.history("frontier") == []


def test_a_hull_the_destination_lacks_is_traded_in_through_the_ledger(store: Store) -> None:
    """The stated rule (docs/worlds.md): the corsair arrives in a world without it as the
    destination's starter, its trade-in value (half its price x hull left) credited by the
    destination's `services`; contraband the destination does not know stays behind, paid at
    its base price; both worlds' books balance."""
    store.worlds.create(record("frontier"), None)
    store.worlds.create(record("plain"), None)
    set_pack(store, "frontier", pack(), None)
    me = corsair_pilot(store, "frontier", "Ash", 700).account_id
    result = move_character(store, me, "frontier", "plain", actor=None)
    arrived = store.characters.load(me, "plain")
    assert arrived is not None and arrived.hull == "shuttle"  # the base starter
    for key in ("weapons", "ammo", "hull_hp", "insured"):
        assert key not in arrived.extra  # a fresh starter: full, its own loadout, uninsured
    corsair = load_content(packs=[pack()]).hulls["corsair"]
    trade_in = int(corsair.price * 0.5 * 110.0 / corsair.hull)
    paid = 2 * load_content(packs=[pack()]).commodities["contraband"].base_price
    assert store.ledger.balance("plain", f"player:{me}") == 1000 + trade_in + paid
    assert store.ledger.holdings("plain", "ship:700") == {"iron": 5}
    assert store.ledger.holdings("frontier", "ship:700") == {}
    move = next(r for r in store.worlds.list_audit(str(me)) if r.action == "move")
    assert move.id == result.audit_id
    refit = move.detail["refit"]
    assert refit["hull"] == {"from": "corsair", "to": "shuttle", "credit": trade_in}
    assert refit["cargo"] == {"items": {"contraband": 2}, "credit": paid}
    assert refit["credit"] == trade_in + paid
    for name in ("frontier", "plain"):
        assert audit_books(store, name)["balanced"], audit_books(store, name)


def test_a_module_the_destination_lacks_leaves_its_slot_empty_for_half_its_price(
    store: Store,
) -> None:
    store.worlds.create(record("frontier"), None)
    store.worlds.create(record("plain"), None)
    base = load_content()
    frontier = load_content(packs=[pack()])
    pilot = dataclasses.replace(
        corsair_pilot(store, "frontier", "Bea", 800),
        hull="hauler",
        extra={"weapons": ["flak", "laser"], "ammo": [40, 0]},
    )
    refit = arrival_refit(pilot, frontier, base, cargo={})
    assert refit is not None and "hull" not in refit
    assert refit["extra"]["weapons"] == ["", "laser"] and refit["extra"]["ammo"] == [0, 0]
    assert refit["credit"] == frontier.weapons["flak"].price // 2
    # a ship that fits as it is changes nothing
    assert arrival_refit(dataclasses.replace(pilot, extra={}), frontier, base, cargo={}) is None


def test_a_fork_carries_the_pack_and_the_params(store: Store) -> None:
    params = GeneratorParams(density=150, field_richness=200)
    store.worlds.create(record("frontier", params=stored_params(params)), None)
    set_pack(store, "frontier", None, None)
    set_pack(store, "frontier", pack(), None)
    source = store.worlds.get("frontier")
    assert source is not None and world_params(source) == params
    result = store.worlds.fork(
        "frontier", dataclasses.replace(source, name="frontier-2"), actor=None, spatial=True
    )
    assert result["rows"]["world_content"] == 2
    copy = store.worlds.get("frontier-2")
    assert copy is not None and world_params(copy) == params
    assert [r.version for r in store.content.history("frontier-2")] == [2, 1]
    assert "corsair" in world_content(store, "frontier-2").hulls


def test_params_are_the_map_and_never_change_under_a_world(store: Store) -> None:
    params = GeneratorParams(density=180, station_fraction=40)
    store.worlds.create(record("dense", params=stored_params(params)), None)
    got = store.worlds.get("dense")
    assert got is not None and world_params(got) == params
    assert got.params["density"] == 180  # stored canonical: survives a round trip
    # the same seed and params give byte-identical systems; other params another map
    assert generate_system(3, 0, 0, world_params(got)) == generate_system(3, 0, 0, params)
    cells = [(x, y) for x in range(-6, 7) for y in range(-6, 7)]
    maps = {
        tuple(c for c in cells if generate_system(3, *c, p) is not None)
        for p in (params, GeneratorParams())
    }
    assert len(maps) == 2
    with pytest.raises(ParamsFixed, match="fork it with the new parameters"):
        refuse_params_change(got, GeneratorParams(density=50))
    default = store.worlds.create(record("plain"), None)
    assert default.params == {} and world_params(default) == GeneratorParams()
