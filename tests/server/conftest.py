"""Fixtures shared by the server tests (the live server itself is tests/conftest.py's)."""

from __future__ import annotations

from tests.store.conftest import store_url  # noqa: F401  (a world's database, on both backends)
