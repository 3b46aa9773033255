"""The missions progress repository (issue 16) on every backend: a document per (account,
world) that survives a restart, is replaced whole, goes with its account, and refuses what
would not load back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callister.store import NotFound, Store


def test_progress_is_saved_per_character_and_survives_a_restart(
    store: Store, reopen: Callable[[], Store]
) -> None:
    a = store.accounts.create("Pilot", "h")
    b = store.accounts.create("Other", "h")
    assert store.missions.get(a.id, "main") is None
    doc = {"version": 1, "tutorial": {"step": 2, "early": ["jump"]}, "fund_used_at": 0}
    store.missions.save(a.id, "main", doc)
    store.missions.save(a.id, "other-world", {"version": 1})
    store.missions.save(a.id, "main", {**doc, "fund_used_at": 99})  # replaced whole
    again = reopen()
    assert again.missions.get(a.id, "main") == {**doc, "fund_used_at": 99}
    assert again.missions.get(a.id, "other-world") == {"version": 1}
    assert again.missions.get(b.id, "main") is None


def test_bad_documents_and_unknown_accounts_are_refused(store: Store) -> None:
    a = store.accounts.create("Pilot", "h")
    with pytest.raises(NotFound):
        store.missions.save(a.id + 1000, "main", {"version": 1})
    for bad in ([1, 2], {"x": float("nan")}, {"x": (1, 2)}, {1: "key not a str"}):
        with pytest.raises(ValueError):
            store.missions.save(a.id, "main", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.missions.save(a.id, "", {"version": 1})
    with pytest.raises(ValueError):
        store.missions.get("1", "main")  # type: ignore[arg-type]
    assert store.missions.get(a.id, "main") is None  # nothing was written
