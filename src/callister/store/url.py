"""`open_database(url)`: the one parser of database URLs; it picks the dialect and opens it."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .database import Database
from .errors import StoreError

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_FORMS = (
    '"sqlite:///relative/path.db", "sqlite:////absolute/path.db", a path ending in '
    f'{", ".join(SQLITE_SUFFIXES)}, ":memory:", or "postgresql://user@host:port/db[?schema=NAME]"'
)


def open_database(url: str | os.PathLike[str]) -> Database:
    """Open (creating and migrating as needed) the database the URL names.

    Accepted forms:
      - ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``, optionally with
        ``?synchronous=NORMAL`` (default FULL) and ``&busy_timeout=SECONDS``;
      - a plain filesystem path ending in .db, .sqlite or .sqlite3; ``:memory:`` for tests;
      - ``postgresql://user[:password]@host[:port]/db`` (or ``postgres://``), optionally with
        ``?schema=NAME`` to keep every table in that schema (created if missing); any other
        query parameters (sslmode, connect_timeout ...) go to libpq unchanged.

    Parent directories of SQLite files are created. A URL of any other shape raises StoreError
    naming the accepted forms; a database with a newer schema than this code raises StoreError.
    """
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"empty store URL; expected {_FORMS}")
    if url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url)
    if url.startswith("sqlite:"):
        return _open_sqlite_url(url)
    if "://" in url:
        raise StoreError(f"unsupported store URL scheme in {redact(url)!r}; expected {_FORMS}")
    if url == ":memory:" or url.lower().endswith(SQLITE_SUFFIXES):
        from .sqlite import SqliteDatabase

        return SqliteDatabase(Path(url).expanduser() if url != ":memory:" else url)
    raise StoreError(f"unrecognised store URL {url!r}; expected {_FORMS}")


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe for logs and error messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable URL>"


def _open_sqlite_url(url: str) -> Database:
    from .sqlite import SqliteDatabase

    if not url.startswith("sqlite:///"):
        raise StoreError(f"bad SQLite URL {url!r}: use three slashes, e.g. sqlite:///data/x.db")
    path, _, query = url[len("sqlite:///") :].partition("?")
    if not path:
        raise StoreError(f"bad SQLite URL {url!r}: no file path after sqlite:///")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    unknown = set(options) - {"synchronous", "busy_timeout"}
    if unknown:
        raise StoreError(f"unknown SQLite URL parameter(s) {sorted(unknown)} in {url!r}")
    try:
        busy_timeout = float(options.get("busy_timeout", "10"))
        return SqliteDatabase(
            path if path == ":memory:" else Path(path).expanduser(),
            synchronous=options.get("synchronous", "FULL"),
            busy_timeout=busy_timeout,
        )
    except ValueError as exc:
        raise StoreError(f"bad SQLite URL {url!r}: {exc}") from exc


def _open_postgres(url: str) -> Database:
    from .postgres import PostgresDatabase

    try:
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError as exc:
        raise StoreError(f"bad PostgreSQL URL {redact(url)!r}: {exc}") from exc
    schemas = [value for key, value in params if key == "schema"]
    if len(schemas) > 1:
        raise StoreError(f"PostgreSQL URL {redact(url)!r} names more than one schema")
    rest = [(key, value) for key, value in params if key != "schema"]
    conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
    try:
        return PostgresDatabase(
            conninfo, schema=schemas[0] if schemas else None, display=redact(url)
        )
    except ValueError as exc:
        raise StoreError(f"bad PostgreSQL URL {redact(url)!r}: {exc}") from exc
