"""Store fixtures for the moderation tests (both backends), reusing tests/store's."""

from tests.store.conftest import reopen, store, store_url  # noqa: F401
