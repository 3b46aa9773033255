"""The store's two-backend fixtures, shared with tests/store."""

from tests.store.conftest import reopen, store, store_url  # noqa: F401
