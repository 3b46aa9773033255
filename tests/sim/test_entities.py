from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from callister.sim.entities import COLUMN_NAMES, MAX_ID, NO_STATION, EntityStore


def test_add_sets_values_and_defaults() -> None:
    store = EntityStore()
    row = store.add(42, owner=9, x=1.5, vy=-2.0, flags=3)
    assert row == 0 and store.count == 1 and 42 in store
    got = store.get(42)
    assert got["ids"] == 42 and got["owner"] == 9
    assert got["x"] == 1.5 and got["vy"] == -2.0 and got["flags"] == 3
    assert got["y"] == 0.0 and got["docked_at"] == NO_STATION and got["contact"] == -1


def test_full_64_bit_ids_round_trip() -> None:
    store = EntityStore()
    store.add(MAX_ID)
    store.add(0)
    assert store.get(MAX_ID)["ids"] == MAX_ID
    assert [int(store.ids[r]) for r in store.id_order()] == [0, MAX_ID]


@pytest.mark.parametrize("bad", [-1, MAX_ID + 1, True, 1.0, "7", None])
def test_invalid_ids_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        EntityStore().add(bad)  # type: ignore[arg-type]


def test_live_duplicate_is_refused() -> None:
    store = EntityStore()
    store.add(5)
    with pytest.raises(ValueError, match="already live"):
        store.add(5)
    assert store.count == 1


def test_removed_id_is_never_accepted_again() -> None:
    store = EntityStore()
    store.add(5)
    store.remove(5)
    assert store.was_removed(5)
    with pytest.raises(ValueError, match="never reused"):
        store.add(5)
    assert store.count == 0


def test_removed_ids_stay_refused_after_compaction() -> None:
    # Past the merge threshold the retired set is folded into a sorted array; still refused.
    store = EntityStore(capacity=8)
    ids = [10_000 + 3 * i for i in range(5000)]
    for i in ids:
        store.add(i)
    for i in ids:
        store.remove(i)
    assert store.count == 0
    for i in (ids[0], ids[2500], ids[-1]):
        with pytest.raises(ValueError, match="never reused"):
            store.add(i)
    assert not store.was_removed(10_001)
    store.add(10_001)


def test_unknown_column_and_explicit_ids_are_refused() -> None:
    store = EntityStore()
    with pytest.raises(ValueError, match="unknown"):
        store.add(1, wobble=3)
    with pytest.raises(ValueError):
        store.add(1, ids=2)
    assert store.count == 0


def test_swap_remove_moves_last_row_and_keeps_mapping() -> None:
    store = EntityStore()
    for i in range(4):
        store.add(100 + i, x=float(i), owner=i)
    store.remove(101)  # row 1; row 3 (id 103) moves into it
    assert store.count == 3
    assert store.row(103) == 1
    assert store.x[1] == 3.0 and store.owner[1] == 3
    assert store.row(100) == 0 and store.row(102) == 2
    with pytest.raises(KeyError):
        store.row(101)
    store.remove(103)
    store.remove(100)
    assert store.row(102) == 0 and store.count == 1


def test_capacity_doubles_and_keeps_data() -> None:
    store = EntityStore(capacity=2)
    for i in range(9):
        store.add(i, x=float(i))
    assert store.capacity == 16
    assert all(len(getattr(store, name)) == 16 for name in COLUMN_NAMES)
    assert store.x[:9].tolist() == [float(i) for i in range(9)]


def test_version_and_id_order_cache_follow_changes() -> None:
    store = EntityStore()
    store.add(30)
    store.add(10)
    v = store.version
    assert store.ids[store.id_order()].tolist() == [10, 30]
    store.add(20)
    assert store.version > v
    assert store.ids[store.id_order()].tolist() == [10, 20, 30]


class StoreMachine(RuleBasedStateMachine):
    """The store against a dict model under random adds, removes and refused re-adds."""

    def __init__(self) -> None:
        super().__init__()
        self.store = EntityStore(capacity=1)
        self.model: dict[int, tuple[int, float]] = {}
        self.kinds: dict[int, int] = {}  # ids added in batches, with their kind
        self.retired: set[int] = set()

    @initialize()
    def start(self) -> None:
        pass

    @rule(
        entity_id=st.integers(0, 60) | st.integers(0, MAX_ID),
        owner=st.integers(-(2**63), 2**63 - 1),
        x=st.floats(-1e5, 1e5, width=32),
    )
    def add(self, entity_id: int, owner: int, x: float) -> None:
        if entity_id in self.model or entity_id in self.retired:
            with pytest.raises(ValueError):
                self.store.add(entity_id, owner=owner, x=x)
        else:
            self.store.add(entity_id, owner=owner, x=x)
            self.model[entity_id] = (owner, x)

    @rule(
        new=st.lists(st.integers(0, 80), max_size=6, unique=True),
        kind=st.sampled_from((1, 2, 3, 4)),
    )
    def add_batch(self, new: list[int], kind: int) -> None:
        owners = [i * 3 - 7 for i in new]
        xs = [float(i) / 4 for i in new]
        if any(i in self.model or i in self.retired for i in new):
            before = self.store.count
            with pytest.raises(ValueError):
                self.store.add_many(new, owner=np.array(owners), x=np.array(xs), kind=kind)
            assert self.store.count == before
            return
        self.store.add_many(new, owner=np.array(owners), x=np.array(xs), kind=kind)
        for i, o, x in zip(new, owners, xs, strict=True):
            self.model[i] = (o, x)
            self.kinds[i] = kind

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove_batch(self, data: st.DataObject) -> None:
        gone = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=8))
        self.store.remove_many(gone)
        for entity_id in set(gone):
            del self.model[entity_id]
            self.kinds.pop(entity_id, None)
            self.retired.add(entity_id)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        entity_id = data.draw(st.sampled_from(sorted(self.model)))
        self.store.remove(entity_id)
        del self.model[entity_id]
        self.kinds.pop(entity_id, None)
        self.retired.add(entity_id)

    @rule(entity_id=st.integers(0, 60))
    def remove_missing(self, entity_id: int) -> None:
        if entity_id not in self.model:
            with pytest.raises(KeyError):
                self.store.remove(entity_id)

    @invariant()
    def rows_match_model(self) -> None:
        store = self.store
        n = store.count
        assert n == len(self.model)
        assert sorted(int(i) for i in store.ids[:n]) == sorted(self.model)
        for entity_id, (owner, x) in self.model.items():
            row = store.row(entity_id)
            assert 0 <= row < n
            assert int(store.ids[row]) == entity_id
            assert int(store.owner[row]) == owner
            assert store.x[row] == np.float32(x)
        assert [int(i) for i in store.ids[store.id_order()]] == sorted(self.model)
        for kind in (1, 2, 3, 4):
            want = sum(1 for k in self.kinds.values() if k == kind)
            assert store.count_of(kind) == want
            assert int(np.count_nonzero(store.kind[:n] == kind)) == want
        assert store.count_of(0) == n - len(self.kinds)


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_wide_columns_move_with_their_rows() -> None:
    store = EntityStore(capacity=2)
    for i in range(5):
        store.add(i, weapon=np.array([i, -1, 2, 3], dtype=np.int16), ammo=[i] * 4)
    assert store.weapon.shape == (8, 4)
    store.remove_many([0, 2])
    assert store.get(4)["weapon"] == [4, -1, 2, 3] and store.get(4)["ammo"] == [4] * 4
    assert store.get(3)["weapon"] == [3, -1, 2, 3]
    with pytest.raises(KeyError):
        store.remove_many([1, 99])
    assert store.count == 3  # nothing removed by a refused batch
