"""The store's two-backend fixtures, shared with tests/store."""

from tests.store.conftest import pg_base, pg_url, reopen, store, store_url  # noqa: F401
