"""Store fixtures for the moderation tests (both backends), reusing tests/store's."""

from tests.store.conftest import pg_url, reopen, store, store_url  # noqa: F401
