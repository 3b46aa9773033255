"""`callister admin user ...`, `callister admin world ...` and `callister admin ledger audit`,
run for real (in-process through `callister.cli.main.main`, the credential and two-person tests
through `python -m callister`) against a fresh SQLite file (the ledger audit on PostgreSQL too):
each command does what it says, changes need an authenticated administrator, and bad input is a
one-line `callister: ...` error with exit status 2, never a traceback."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.command_line import operator_env, run_callister
from tests.examples import FRONTIER_PACK
from tests.store.conftest import raw_sql, store_url  # noqa: F401  (both backends)

from callister.cli.main import main
from callister.store import Character, ItemMove, Posting, WorldRecord, open_store

PASSWORD = "a-strong-password\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Admin:
    """`callister admin --db URL ...` in this process."""

    def __init__(self, db: str, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch):
        self.db, self.capsys, self.mp = db, capsys, mp

    def __call__(self, *args: str, stdin: str = "", who: str | None = None) -> Result:
        """`who`: act as that account with its password (the first line of stdin)."""
        if who is not None:
            args = (*args, "--as", who, "--password-stdin")
            stdin = PASSWORD + stdin
        return self.run(["admin", "--db", self.db, *args], stdin)

    def run(self, argv: list[str], stdin: str = "") -> Result:
        self.mp.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        out = self.capsys.readouterr()
        code = exit_.value.code
        return Result(code if isinstance(code, int) else 1, out.out, out.err)

    def ok(self, *args: str, stdin: str = "", who: str | None = None) -> Result:
        result = self(*args, stdin=stdin, who=who)
        assert result.code == 0, result.err
        return result

    def fails(self, *args: str, stdin: str = "", who: str | None = None) -> str:
        """The error message of a command that must fail cleanly (exit status 2)."""
        result = self(*args, stdin=stdin, who=who)
        assert result.code == 2, (result.code, result.out, result.err)
        assert "Traceback" not in result.err
        last = result.err.strip().splitlines()[-1]  # argparse's usage and a progress bar go first
        assert last.startswith("callister"), result.err
        return last


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/admin.db"


@pytest.fixture
def admin(db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Admin:
    for key in list(os.environ):
        if key.startswith("CALLISTER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CALLISTER_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("CALLISTER_ARGON2_MEMORY_KIB", "8192")
    return Admin(db, capsys, monkeypatch)


@pytest.fixture
def people(admin: Admin) -> Admin:
    """Root (admin) and Bob (player)."""
    admin.ok("user", "create", "Root", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    admin.ok("user", "create", "Bob", "--password-stdin", stdin=PASSWORD, who="Root")
    return admin


def users(admin: Admin) -> dict[str, str]:
    return {u["name"]: u["role"] for u in admin.ok("user", "list", "--json").json()}


def worlds(admin: Admin) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in admin.ok("world", "list", "--json").json()}


def account_id(admin: Admin, name: str) -> int:
    return next(u["id"] for u in admin.ok("user", "list", "--json").json() if u["name"] == name)


def give_character(db: str, account: int, world: str, ship: int) -> None:
    """A character with credits and cargo (nothing in the CLI makes one; the game does)."""
    store = open_store(db)
    try:
        store.characters.save(Character(
            account_id=account, world=world, ship_id=ship, hull="shuttle", system_x=0,
            system_y=0, x=1.0, y=2.0, vx=0.0, vy=0.0, angle=0.0, docked_at=None, home_x=0,
            home_y=0, home_station=0, extra={"fuel": 10}))  # fmt: skip
        store.ledger.commit(world, f"open:{account}", "open", account=f"player:{account}",
                            postings=[Posting("mint", -500), Posting(f"player:{account}", 500)],
                            moves=[ItemMove("iron", 3, None, f"ship:{ship}")])  # fmt: skip
    finally:
        store.db.close()


def rows_keyed_to(db: str, world: str) -> dict[str, int]:
    """Rows naming `world` in every table with a `world` column, read with sqlite3 directly."""
    conn = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = {}
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            if "world" in columns:
                (n,) = conn.execute(f'SELECT count(*) FROM "{table}" WHERE world = ?', (world,))
                found[table] = n[0]
        assert "characters" in found and "worlds" in found  # the scan saw the world tables
        return {t: n for t, n in found.items() if n}
    finally:
        conn.close()


# ------------------------------------------------------------------------------------ users
def test_user_create_list_set_role_delete(admin: Admin) -> None:
    assert "there is no administrator yet" in admin.fails(
        "user", "create", "Root", "--password-stdin", stdin=PASSWORD, who="Root"
    )
    made = admin.ok(
        "user", "create", "Root", "--role", "admin", "--password-stdin", "--json", stdin=PASSWORD
    ).json()
    assert made["name"] == "Root" and made["role"] == "admin" and made["banned"] is False
    # once an administrator exists, account changes need one's credentials
    assert "say who is acting" in admin.fails("user", "create", "Bob", "--password-stdin",
                                              stdin=PASSWORD)  # fmt: skip
    assert users(admin) == {"Root": "admin"}
    plain = admin.ok("user", "create", "Bob", "--password-stdin", stdin=PASSWORD, who="Root")
    assert plain.out.startswith("created Bob (id ") and "role player" in plain.out
    listed = admin.ok("user", "list", "--json").json()
    assert [(u["name"], u["role"]) for u in listed] == [("Root", "admin"), ("Bob", "player")]
    assert [u["name"] for u in admin.ok("user", "list", "--limit", "1", "--json").json()] == [
        "Root"
    ]
    assert "Bob" in admin.ok("user", "list").out

    changed = admin.ok("user", "set-role", "Bob", "moderator", "--json", who="Root").json()
    assert changed == {"id": changed["id"], "name": "Bob", "role": "moderator", "banned": False}
    assert "wrong name or password" in admin.fails("user", "set-role", "Bob", "admin",
                                                   "--as", "Root", "--password-stdin",
                                                   stdin="not-the-password\n")  # fmt: skip
    assert admin.ok("user", "set-role", "Bob", "admin", who="Root").out.strip() == (
        "Bob is now admin"
    )
    assert users(admin) == {"Root": "admin", "Bob": "admin"}

    # asked to type the name: the right name deletes
    deleted = admin.ok("user", "delete", "Bob", "--as", "Root", "--password-stdin",
                       stdin="Bob\n" + PASSWORD)  # the name is asked first  # fmt: skip
    assert deleted.out.endswith("deleted Bob\n")
    assert admin.ok("user", "delete", "Root", "--yes", who="Root").out.strip() == "deleted Root"
    assert admin.ok("user", "list", "--json").json() == []


def test_db_and_config_also_go_after_the_action(admin: Admin, db: str, tmp_path: Path) -> None:
    """`callister admin user list --db URL` works like `callister admin --db URL user list`."""
    other = f"sqlite:///{tmp_path}/other.db"
    admin.ok("user", "create", "Root", "--password-stdin", "--db", other, stdin=PASSWORD)
    assert users(admin) == {}
    assert [u["name"] for u in admin.ok("user", "list", "--json", "--db", other).json()] == ["Root"]
    config = tmp_path / "callister.toml"
    config.write_text(f'db = "{other}"\n')
    for argv in (
        ["admin", "--config", str(config), "user", "list", "--json"],
        ["admin", "user", "list", "--json", "--config", str(config)],
    ):
        result = admin.run(argv)
        assert result.code == 0, result.err
        assert [u["name"] for u in result.json()] == ["Root"]


@pytest.mark.parametrize(
    ("args", "who", "stdin", "message"),
    [
        (["set-role", "Nobody", "admin"], "Root", "", "no account named 'Nobody'"),
        (["set-role", "Bob", "wizard"], "Root", "", "invalid choice: 'wizard'"),
        (["set-role", "Bob"], "Root", "", "the following arguments are required: role"),
        (["set-role", "Bob", "admin"], None, "", "say who is acting: --as ADMIN"),
        (["set-role", "Bob", "admin"], "Bob", "", "'Bob' is not an administrator"),
        (["set-role", "Bob", "admin", "--as", "Root", "--password-stdin"], None, "wrong\n",
         "--as Root: wrong name or password; nothing changed"),
        (["set-role", "Bob", "admin", "--as", "Nobody", "--password-stdin"], None, PASSWORD,
         "--as Nobody: wrong name or password"),
        (["delete", "Nobody", "--yes"], "Root", "", "no account named 'Nobody'"),
        (["delete", "Bob", "--as", "Root"], None, "Bobby\n",
         "confirmation did not match; nothing deleted"),
        (["delete", "Bob", "--as", "Root"], None, "", "no answer on standard input: use --yes"),
        (["delete", "Bob", "--yes"], None, "", "say who is acting"),
        (["create", "Bob", "--password-stdin"], "Root", PASSWORD, "the name 'Bob' is taken"),
        (["create", "bob", "--password-stdin"], "Root", PASSWORD, "the name 'bob' is taken"),
        (["create", "Eve", "--password-stdin"], "Root", "x\n", "password"),
        (["create", "Eve", "--password-stdin"], "Root", "", "password"),
        (["create", "E", "--password-stdin"], "Root", PASSWORD, "name"),
        (["create", "Eve", "--role", "god", "--password-stdin"], "Root", PASSWORD,
         "invalid choice"),
        (["create", "Eve", "--role", "admin", "--password-stdin"], None, PASSWORD,
         "say who is acting"),
        # both passwords prompted (getpass falls back to stdin): the new one is missing
        (["create", "Eve", "--as", "Root"], None, PASSWORD,
         "no answer on standard input: use --password-stdin"),
        (["list", "--limit", "-1"], None, "", "limit"),
        (["list", "--limit", "many"], None, "", "invalid int value"),
    ],
)  # fmt: skip
def test_user_bad_input_is_a_clear_error(
    people: Admin, args: list[str], who: str | None, stdin: str, message: str
) -> None:
    # getpass reads the terminal when there is one; make it fall back to standard input
    people.mp.setattr("getpass.getpass", lambda prompt="": input(prompt))
    assert message in people.fails("user", *args, stdin=stdin, who=who)
    assert users(people) == {"Root": "admin", "Bob": "player"}  # nothing changed


# ----------------------------------------------------------------------------------- worlds
def test_world_create_list_invite_fork_move_audit_delete(people: Admin, db: str) -> None:
    admin = people
    out = admin.ok("world", "create", "alpha", "--seed", "5", "--visibility", "invite",
                   "--limit", "10", "--no-pvp", "--rules", '{"fuel_multiplier": 2}',
                   who="Root").out  # fmt: skip
    assert out.strip() == "created world alpha (seed 5, invite)"
    listed = worlds(admin)
    assert set(listed) == {"infinity", "alpha"}  # the public world is always registered
    alpha = listed["alpha"]
    assert (alpha["seed"], alpha["visibility"], alpha["state"], alpha["job"]) == (
        "5", "invite", "live", None)  # fmt: skip
    assert alpha["rules"]["pvp"] is False and alpha["rules"]["fuel_multiplier"] == 2.0
    assert alpha["characters"] == 0
    assert "alpha" in admin.ok("world", "list").out

    bob = account_id(admin, "Bob")
    assert admin.ok("world", "invite", "alpha", "Bob", who="Root").out.strip() == (
        "invited Bob into alpha"
    )
    store = open_store(db)
    try:
        assert ("alpha", bob, "invited") in store.worlds.list_members("alpha")
    finally:
        store.db.close()

    give_character(db, bob, "infinity", ship=41)
    forked = admin.ok("world", "fork", "infinity", "beta", who="Root").out
    assert forked.startswith("forked infinity into beta:")
    listed = worlds(admin)
    assert listed["beta"]["characters"] == 1 and listed["beta"]["seed"] == "1"

    moved = admin.ok("world", "move", "Bob", "--from", "infinity", "--to", "alpha", who="Root")
    assert "moved Bob from infinity to alpha: ship 41, 500 credits" in moved.out
    listed = worlds(admin)
    assert (listed["infinity"]["characters"], listed["alpha"]["characters"]) == (0, 1)

    audit = admin.ok("world", "audit", "alpha", "--json").json()
    assert {r["action"] for r in audit} >= {"create", "invited"}
    assert all(r["subject"] == "alpha" for r in audit)
    assert all(r["actor"] == account_id(admin, "Root") for r in audit)  # the authenticated one
    assert "invited" in admin.ok("world", "audit").out

    # the kill switch: alpha and everything in it goes; Bob's character goes home first. It
    # holds a player, so a second administrator approves (the two-person rule, on by default)
    admin.ok("user", "create", "Second", "--role", "admin", "--password-stdin",
             stdin=PASSWORD, who="Root")  # fmt: skip
    assert rows_keyed_to(db, "alpha")
    asked = admin.ok("world", "delete", "alpha", "--confirm", "alpha", "--now", who="Root")
    assert "a second administrator must approve" in asked.out
    admin.ok("world", "approve", "alpha", who="Second")
    done = admin.ok("world", "delete", "alpha", "--confirm", "alpha", "--now", who="Root")
    assert done.out.startswith("deleted world alpha; audit record ")
    assert rows_keyed_to(db, "alpha") == {}
    assert set(worlds(admin)) == {"infinity", "beta"}
    assert worlds(admin)["infinity"]["characters"] == 1  # evacuated to the public world
    after = admin.ok("world", "audit", "alpha", "--json").json()
    assert after[0]["action"] == "deleted" and len(after) > len(audit)  # the log survives
    assert rows_keyed_to(db, "beta")  # the other worlds are untouched


def test_world_delete_asks_for_the_name(people: Admin, db: str) -> None:
    """An empty world: one administrator deletes it (nothing for the two-person rule to
    protect), after typing its name (asked before the password)."""
    people.ok("world", "create", "gamma", who="Root")
    as_root = ("--as", "Root", "--password-stdin")
    assert "nothing deleted" in people.fails("world", "delete", "gamma", *as_root, "--now",
                                             stdin="gama\n" + PASSWORD)  # fmt: skip
    assert "gamma" in worlds(people)
    people.ok("world", "delete", "gamma", *as_root, "--now", stdin="gamma\n" + PASSWORD)
    assert "gamma" not in worlds(people) and rows_keyed_to(db, "gamma") == {}
    requested = people.ok("world", "audit", "gamma", "--json").json()[-2]
    assert requested["action"] == "delete_requested"
    assert requested["detail"]["two_person"] == "not needed"


def test_world_delete_scheduled_then_cancelled(people: Admin) -> None:
    out = people.ok("world", "delete", "infinity", "--confirm", "infinity", "--override",
                    who="Root").out  # fmt: skip
    assert "deletion of infinity scheduled" in out
    assert worlds(people)["infinity"]["job"] == "countdown"
    assert "cancelled" in people.ok("world", "cancel", "infinity", who="Root").out
    assert worlds(people)["infinity"]["job"] is None
    assert "can be cancelled" in people.fails("world", "cancel", "infinity", who="Root")


@pytest.mark.parametrize(
    ("args", "who", "stdin", "message"),
    [
        # who is acting, and the proof
        (["create", "gamma"], None, "", "say who is acting: --as ADMIN"),
        (["delete", "alpha", "--confirm", "alpha"], None, "", "say who is acting"),
        (["create", "gamma"], "Bob", "", "'Bob' is not an administrator (role player)"),
        (["create", "gamma"], "Nobody", "", "--as Nobody: wrong name or password"),
        (["create", "gamma", "--as", "Root", "--password-stdin"], None, "guess\n",
         "--as Root: wrong name or password; nothing changed"),
        (["create", "gamma", "--as", "Root", "--password-stdin"], None, "",
         "no password for Root on standard input"),
        (["create", "gamma", "--as", "Root"], None, "", "no password for Root: use"),
        (["create", "gamma", "--token-file", "/nonexistent/token"], None, "",
         "cannot read --token-file /nonexistent/token"),
        # create
        (["create", "alpha"], "Root", "", "a world named 'alpha' exists"),
        (["create", "Bad Name"], "Root", "", "world name 'Bad Name'"),
        (["create", "gamma", "--visibility", "secret"], "Root", "", "invalid choice"),
        (["create", "gamma", "--rules", "{nope"], "Root", "", "--rules is not JSON"),
        (["create", "gamma", "--rules", "[1]"], "Root", "", "must be a JSON object"),
        (["create", "gamma", "--rules", '{"gravity": 2}'], "Root", "", "unknown rules"),
        (["create", "gamma", "--limit", "-1"], "Root", "", "player_limit"),
        (["create", "gamma", "--seed", "1" + "0" * 20], "Root", "", "seed"),
        # invite
        (["invite", "nowhere", "Bob"], "Root", "", "no world named 'nowhere'"),
        (["invite", "alpha", "Nobody"], "Root", "", "no account named 'Nobody'"),
        # fork
        (["fork", "nowhere", "gamma"], "Root", "", "no world named 'nowhere'"),
        (["fork", "infinity", "alpha"], "Root", "", "a world named 'alpha' exists"),
        # move
        (["move", "Bob", "--from", "infinity", "--to", "alpha"], "Root", "",
         "has no character in world 'infinity'"),
        (["move", "Nobody", "--from", "infinity", "--to", "alpha"], "Root", "",
         "no account named 'Nobody'"),
        (["move", "Bob", "--from", "infinity", "--to", "nowhere"], "Root", "",
         "no world named 'nowhere'"),
        (["move", "Bob", "--from", "alpha", "--to", "alpha"], "Root", "", "the same world"),
        (["move", "Bob", "--to", "alpha"], "Root", "", "required: --from"),
        # delete, approve, cancel
        (["delete", "alpha", "--confirm", "alpah"], "Root", "", "did not match"),
        (["delete", "alpha", "--as", "Root"], None, "", "use --confirm alpha"),
        (["delete", "nowhere", "--confirm", "nowhere"], "Root", "", "no world named 'nowhere'"),
        (["delete", "infinity", "--confirm", "infinity", "--now"], "Root", "",
         "infinity is the public world: add --override"),
        (["delete", "alpha", "--confirm", "alpha"], "Bob", "", "'Bob' is not an administrator"),
        (["approve", "alpha"], "Root", "", "no deletion of 'alpha' is waiting"),
        (["approve", "alpha"], None, "", "say who is acting"),
        (["cancel", "alpha"], "Root", "", "no deletion of 'alpha' can be cancelled"),
        (["explode", "alpha"], None, "", "invalid choice: 'explode'"),
    ],
)  # fmt: skip
def test_world_bad_input_is_a_clear_error(
    people: Admin, db: str, args: list[str], who: str | None, stdin: str, message: str
) -> None:
    people.mp.setattr("getpass.getpass", lambda prompt="": input(prompt))  # no terminal here
    people.ok("world", "create", "alpha", "--seed", "3", who="Root")
    before = worlds(people)
    audit = people.ok("world", "audit", "--json").json()
    assert message in people.fails("world", *args, stdin=stdin, who=who)
    assert worlds(people) == before  # nothing changed
    assert people.ok("world", "audit", "--json").json() == audit


def test_world_changes_by_token(people: Admin, db: str, tmp_path: Path) -> None:
    """An administrator's session token (as POST /api/login issues) instead of a password, from
    $CALLISTER_ADMIN_TOKEN or --token-file; a forged, a player's or an empty one is refused."""
    people.mp.setenv("CALLISTER_ADMIN_TOKEN", session_token(db, "Root"))
    assert "created world tok" in people.ok("world", "create", "tok").out
    assert audit_of(db, "tok")[0].actor == account_id(people, "Root")
    for token, message in [
        ("forged", "the admin token is unknown or expired: log in again"),
        (session_token(db, "Bob"), "'Bob' is not an administrator (role player)"),
    ]:
        people.mp.setenv("CALLISTER_ADMIN_TOKEN", token)
        assert message in people.fails("world", "create", "tok2")
    people.mp.delenv("CALLISTER_ADMIN_TOKEN")
    empty = tmp_path / "empty-token"
    empty.write_text("\n")
    assert "is empty" in people.fails("world", "create", "tok2", "--token-file", str(empty))
    assert "tok2" not in worlds(people)


# ------------------------------------------------------------------------------- the ledger
@pytest.fixture
def books(
    store_url: str,  # noqa: F811  (the fixture imported above)
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Admin:
    """`callister admin` on an empty store of each backend (SQLite file, PostgreSQL schema)."""
    for key in list(os.environ):
        if key.startswith("CALLISTER_"):
            monkeypatch.delenv(key)
    return Admin(store_url, capsys, monkeypatch)


def test_ledger_audit_finds_a_corrupted_row(
    books: Admin,
    store_url: str,  # noqa: F811  (fixtures imported above)
    raw_sql: Callable[[str], list[tuple[Any, ...]]],  # noqa: F811
) -> None:
    """`callister admin ledger audit`: per world, ledger balanced, accounts equal to their
    entries, owned accounts not negative, items conserved, holders equal to their moves; exit
    status 1 once a row is corrupted behind the store's back (each backend)."""
    root = make_account(store_url, "Root", "admin")
    store = open_store(store_url)
    try:
        store.worlds.create(WorldRecord("other", 5, None, "private", 0, {}), root)
    finally:
        store.db.close()
    give_character(store_url, root, "infinity", ship=41)
    give_character(store_url, root, "other", ship=42)

    table = books.ok("ledger", "audit")  # human table, every world
    assert "every world's books balance" in table.out and "FAIL" not in table.out
    assert {line.split()[0] for line in table.out.splitlines()[1:3]} == {"infinity", "other"}
    clean = {r["world"]: r for r in books.ok("ledger", "audit", "--json").json()}
    assert set(clean) == {"infinity", "other"} and all(r["balanced"] for r in clean.values())
    assert all(all(r["checks"].values()) for r in clean.values())
    assert clean["infinity"]["items"]["iron"] == {"held": 3, "created": 3, "destroyed": 0,
                                                   "conserved": True}  # fmt: skip
    assert clean["infinity"]["accounts"] == 2 and clean["infinity"]["credits_total"] == 0

    # a balance changed by hand: the ledger no longer sums to 0 and the account disagrees
    # with its entries
    raw_sql(f"UPDATE ledger_accounts SET balance = balance + 7 WHERE world = 'infinity' "
            f"AND account = 'player:{root}'")  # fmt: skip
    bad = books("ledger", "audit", "--json")
    assert bad.code == 1, bad.err
    found = {r["world"]: r for r in bad.json()}
    assert found["other"]["balanced"]  # one world's corruption is reported against it only
    infinity = found["infinity"]
    assert not infinity["balanced"] and infinity["credits_total"] == 7
    assert not infinity["checks"]["ledger_balanced"]
    assert not infinity["checks"]["accounts_consistent"]
    assert infinity["checks"]["items_conserved"] and infinity["checks"]["owned_non_negative"]
    assert f"account player:{root} differs from its entries" in infinity["problems"]

    # an item holding changed by hand: not conserved, and the holder disagrees with its moves
    raw_sql("UPDATE holdings SET qty = qty + 1 WHERE world = 'other' AND holder = 'ship:42'")
    other = books("ledger", "audit", "other", "--json")
    assert other.code == 1
    (only,) = other.json()
    assert only["world"] == "other" and not only["balanced"]
    assert not only["checks"]["items_conserved"] and not only["checks"]["holders_consistent"]
    assert only["checks"]["ledger_balanced"]
    human = books("ledger", "audit")
    assert human.code == 1 and "unbalanced: infinity, other" in human.out
    assert "other: iron: held 4 != created 3 - destroyed 0" in human.out
    assert "no world named 'nowhere'" in books.fails("ledger", "audit", "nowhere")


# ------------------------------------------------------------------- through the real binary
def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
    fast_hashing = {"CALLISTER_ARGON2_TIME_COST": "1", "CALLISTER_ARGON2_MEMORY_KIB": "8192"}
    out = run_callister(*args, stdin=stdin, env=operator_env(**fast_hashing, **(env or {})))
    return Result(out.returncode, out.stdout, out.stderr)


def test_the_real_command_line(tmp_path: Path) -> None:
    """The same errors from `python -m callister`: exit status 2, one line, no traceback."""
    db = f"sqlite:///{tmp_path}/cli.db"
    made = cli("admin", "--db", db, "user", "create", "Root", "--role", "admin", stdin=PASSWORD)
    assert made.code == 0 and "created Root" in made.out, made.err  # the prompt read stdin
    created = cli("admin", "--db", db, "world", "create", "alpha", "--as", "Root", stdin=PASSWORD)
    assert created.code == 0, created.err  # the password prompt read stdin (no terminal)
    for args, stdin, message in [
        (["world", "create", "alpha", "--as", "Root"], PASSWORD, "a world named 'alpha' exists"),
        (["world", "invite", "nowhere", "Root", "--as", "Root"], PASSWORD, "no world named"),
        (["world", "delete", "alpha", "--as", "Root"], "", "use --confirm alpha"),
        (["world", "create", "beta", "--as", "Root"], "", "no password for Root: use"),
        (["user", "delete", "Root", "--as", "Root"], "", "use --yes"),
        (["user", "create", "Eve", "--as", "Root"], PASSWORD, "use --password-stdin"),
    ]:
        result = cli("admin", "--db", db, *args, stdin=stdin)
        assert result.code == 2, (args, result)
        assert "Traceback" not in result.err and message in result.err, (args, result.err)
    bad_url = cli("admin", "--db", "bogus://nowhere", "user", "list")
    assert bad_url.code == 2 and "Traceback" not in bad_url.err
    assert bad_url.err.startswith("callister: unsupported store URL")


def make_account(db: str, name: str, role: str = "player") -> int:
    """An account with PASSWORD, straight into the store (setup, not under test)."""
    from callister.server.auth import Passwords

    store = open_store(db)
    try:
        hashed = Passwords(1, 8192).hash(PASSWORD.strip())
        return store.accounts.create(name, hashed, role).id
    finally:
        store.db.close()


def session_token(db: str, name: str, ttl_s: float = 3600.0) -> str:
    """A session token for the account, stored as POST /api/login stores one."""
    from callister.server.auth import new_token, token_hash

    token = new_token()
    store = open_store(db)
    try:
        account = store.accounts.by_name(name)
        assert account is not None
        store.accounts.create_session(account.id, token_hash(token), time.time() + ttl_s)
    finally:
        store.db.close()
    return token


def audit_of(db: str, world: str) -> list[Any]:
    store = open_store(db)
    try:
        return store.worlds.list_audit(world, 100)
    finally:
        store.db.close()


def world_names(db: str) -> set[str]:
    store = open_store(db)
    try:
        return {w.name for w in store.worlds.all()}
    finally:
        store.db.close()


def refused(result: Result, message: str) -> None:
    assert result.code == 2, result
    assert "Traceback" not in result.err and message in result.err, result.err


def test_credentials_through_the_real_command_line(tmp_path: Path) -> None:
    """M3: `--as NAME` alone proves nothing. The password (stdin here; getpass on a terminal)
    or an admin's session token is checked against the store as HTTP login checks it; a wrong
    one is exit status 2 with nothing changed; failures are throttled across processes (each
    command is one); the audit names the account that proved itself."""
    db = f"sqlite:///{tmp_path}/cli.db"
    root_id = make_account(db, "Root", "admin")
    make_account(db, "Bob")

    def world(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
        return cli("admin", "--db", db, "world", *args, stdin=stdin, env=env)

    refused(world("create", "w1", "--as", "Root", "--password-stdin", stdin="guess-guess\n"),
            "callister: --as Root: wrong name or password; nothing changed")  # fmt: skip
    assert world_names(db) == {"infinity"}
    ok = world("create", "w1", "--as", "Root", "--password-stdin", stdin=PASSWORD)
    assert ok.code == 0, ok.err
    assert audit_of(db, "w1")[0].actor == root_id

    # a token from a file, or from the environment; --as must then name its account
    token_file = tmp_path / "token"
    token_file.write_text(session_token(db, "Root") + "\n")
    assert world("create", "w2", "--token-file", str(token_file)).code == 0
    assert audit_of(db, "w2")[0].actor == root_id
    env_token = {"CALLISTER_ADMIN_TOKEN": session_token(db, "Root")}
    refused(world("create", "w3", "--as", "Bob", env=env_token),
            "--as Bob does not match the token's account 'Root'")  # fmt: skip
    refused(world("create", "w3", env={"CALLISTER_ADMIN_TOKEN": session_token(db, "Root", -1)}),
            "the admin token is unknown or expired")  # fmt: skip

    # the login throttle (login_per_minute failures a minute) holds across processes: the
    # first wrong password above and this one make two; then even the right password is
    # refused until the minute has passed
    limit = {"CALLISTER_LOGIN_PER_MINUTE": "2"}
    refused(world("create", "w3", "--as", "Root", "--password-stdin", stdin="nope-nope\n",
                  env=limit), "wrong name or password")  # fmt: skip
    refused(world("create", "w3", "--as", "Root", "--password-stdin", stdin=PASSWORD, env=limit),
            "too many failed logins for this name or address; retry in")  # fmt: skip
    assert world_names(db) == {"infinity", "w1", "w2"}


def test_two_person_rule_through_the_real_command_line(tmp_path: Path) -> None:
    """M3: deleting a world with players or data needs a second, different administrator;
    the requester approving their own request is refused. A one-admin server opts out with
    kill_switch_two_person = false, and the audit says the rule was off."""
    db = f"sqlite:///{tmp_path}/cli.db"
    root, second, bob = (make_account(db, "Root", "admin"), make_account(db, "Second", "admin"),
                         make_account(db, "Bob"))  # fmt: skip
    store = open_store(db)
    try:
        for name in ("full", "solo"):
            store.worlds.create(WorldRecord(name, 5, None, "private", 0, {}), root)
    finally:
        store.db.close()
    give_character(db, bob, "full", ship=77)
    give_character(db, bob, "solo", ship=78)

    def admin(*args: str, who: str = "Root", env: dict[str, str] | None = None) -> Result:
        return cli("admin", "--db", db, "world", *args, "--as", who, "--password-stdin",
                   stdin=PASSWORD, env=env)  # fmt: skip

    asked = admin("delete", "full", "--confirm", "full", "--now")
    assert asked.code == 0 and "a second administrator must approve" in asked.out, asked
    refused(admin("approve", "full"),
            "the two-person rule needs a second administrator, not the requester")  # fmt: skip
    approved = admin("approve", "full", who="Second")
    assert approved.code == 0 and "approved" in approved.out, approved
    records = {r.action: r for r in audit_of(db, "full")}
    assert records["delete_requested"].actor == root
    assert records["delete_requested"].detail["two_person"] == "required"
    assert records["delete_approved"].actor == second
    done = admin("delete", "full", "--confirm", "full", "--now")
    assert done.code == 0 and "deleted world full" in done.out, done

    # the one-admin hobby server: kill_switch_two_person = false in its settings file
    config = tmp_path / "callister.toml"
    config.write_text("kill_switch_two_person = false\n")
    gone = admin("delete", "solo", "--confirm", "solo", "--now",
                 env={"CALLISTER_CONFIG": str(config)})  # fmt: skip
    assert gone.code == 0 and "deleted world solo" in gone.out, gone
    requested = next(r for r in audit_of(db, "solo") if r.action == "delete_requested")
    assert requested.detail["two_person"] == "off" and requested.actor == root
    assert "kill_switch_two_person = false" in requested.detail["why"]
    assert world_names(db) == {"infinity"}


# ------------------------------------------------------------------- world content, params


def test_world_content_set_show_and_params(people: Admin, tmp_path: Path) -> None:
    """`admin world content set|show` store and show a world's pack (validated first, as the
    server loads it); `admin world params` shows a world's generator parameters and refuses
    to change them; create and fork take --params."""
    params = tmp_path / "dense.toml"
    params.write_text("density = 180\nfield_richness = 250\n")
    people.ok("world", "create", "frontier", "--seed", "3", "--params", str(params), who="Root")
    shown = people.ok("world", "params", "show", "frontier", "--json").json()
    assert shown["params"]["density"] == 180 and shown["seed"] == "3"
    # a malformed pack: every problem with file, entry and field; exit 1; nothing stored
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in FRONTIER_PACK.glob("*.toml"):
        (bad / f.name).write_text(f.read_text().replace("thrust = 75.0", 'thrust = "fast"'))
    refused = people("world", "content", "set", "frontier", str(bad), who="Root")
    assert refused.code == 1
    assert "pack frontier: hulls.toml [corsair] thrust: must be a number" in refused.err
    assert "nothing stored" in refused.err
    as_json = people("world", "content", "set", "frontier", str(bad), "--json", who="Root")
    problem = as_json.json()["errors"][0]
    assert (problem["file"], problem["entry"], problem["field"]) == (
        "hulls.toml", "corsair", "thrust")  # fmt: skip
    assert people.ok("world", "content", "show", "frontier", "--json").json()["version"] == 0
    # a player may not; an administrator may
    assert "admin" in people.fails("world", "content", "set", "frontier", str(FRONTIER_PACK),
                                   who="Bob")  # fmt: skip
    out = people.ok("world", "content", "set", "frontier", str(FRONTIER_PACK), who="Root").out
    assert out.startswith("frontier: content version 1: frontier 1.0.0")
    assert "hulls: adds corsair; changes hauler (cargo, price)" in out
    shown = people.ok("world", "content", "show", "frontier", "--json").json()
    assert shown["version"] == 1 and shown["pack"]["name"] == "frontier"
    assert shown["pack"]["files"]["hulls.toml"] == (FRONTIER_PACK / "hulls.toml").read_text()
    assert shown["pack"]["changes"]["weapons"]["added"] == ["flak"]
    text = people.ok("world", "content", "show", "frontier", "--files").out
    assert "--- hulls.toml" in text and "version 1: frontier 1.0.0" in text
    cleared = people.ok("world", "content", "set", "frontier", "--clear", "--json", who="Root")
    assert cleared.json()["version"] == 2 and cleared.json()["name"] is None
    # generator parameters never change under a world: refused, pointing at a fork
    refusal = people.fails("world", "params", "set", "frontier", str(params), who="Root")
    assert "part of its identity" in refusal and "fork" in refusal
    people.ok("world", "fork", "frontier", "frontier-2", who="Root")
    copy = people.ok("world", "params", "show", "frontier-2", "--json").json()
    assert copy["params"] == shown_params(people, "frontier")
    history = people.ok("world", "content", "show", "frontier-2", "--json").json()["history"]
    assert [h["version"] for h in history] == [2, 1]
    # bad parameters name the field
    wild = tmp_path / "wild.toml"
    wild.write_text("density = 5000\n")
    assert "density" in people.fails("world", "create", "wild", "--params", str(wild),
                                     who="Root")  # fmt: skip
    assert "no world named" in people.fails("world", "content", "show", "nowhere")


def shown_params(admin: Admin, world: str) -> dict[str, Any]:
    return dict(admin.ok("world", "params", "show", world, "--json").json()["params"])


@pytest.mark.parametrize(
    "cmd",
    [
        ["world", "content", "set"],
        ["world", "content", "show"],
        ["world", "params"],
        ["world", "params", "show"],
        ["world", "params", "set"],
    ],
)
def test_content_commands_have_help(admin: Admin, cmd: list[str]) -> None:
    result = admin(*cmd, "--help")
    assert result.code == 0 and "usage:" in result.out
