"""`callister admin user ...` and `callister admin world ...`, run for real (in-process through
`callister.cli.main.main`, a few through `python -m callister`) against a fresh SQLite file:
each command does what it says, and bad input is a one-line `callister: ...` error with exit
status 2, never a traceback."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callister.cli.main import main
from callister.store import Character, ItemMove, Posting, open_store

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

    def __call__(self, *args: str, stdin: str = "") -> Result:
        return self.run(["admin", "--db", self.db, *args], stdin)

    def run(self, argv: list[str], stdin: str = "") -> Result:
        self.mp.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        out = self.capsys.readouterr()
        code = exit_.value.code
        return Result(code if isinstance(code, int) else 1, out.out, out.err)

    def ok(self, *args: str, stdin: str = "") -> Result:
        result = self(*args, stdin=stdin)
        assert result.code == 0, result.err
        return result

    def fails(self, *args: str, stdin: str = "") -> str:
        """The error message of a command that must fail cleanly (exit status 2)."""
        result = self(*args, stdin=stdin)
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
    admin.ok("user", "create", "Bob", "--password-stdin", stdin=PASSWORD)
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
        store.save_character(Character(
            account_id=account, world=world, ship_id=ship, hull="shuttle", system_x=0,
            system_y=0, x=1.0, y=2.0, vx=0.0, vy=0.0, angle=0.0, docked_at=None, home_x=0,
            home_y=0, home_station=0, extra={"fuel": 10}))  # fmt: skip
        store.commit_txn(world, f"open:{account}", "open", account=f"player:{account}",
                         postings=[Posting("mint", -500), Posting(f"player:{account}", 500)],
                         moves=[ItemMove("iron", 3, None, f"ship:{ship}")])  # fmt: skip
    finally:
        store.close()


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
    made = admin.ok(
        "user", "create", "Root", "--role", "admin", "--password-stdin", "--json", stdin=PASSWORD
    ).json()
    assert made["name"] == "Root" and made["role"] == "admin" and made["banned"] is False
    plain = admin.ok("user", "create", "Bob", "--password-stdin", stdin=PASSWORD)
    assert plain.out.startswith("created Bob (id ") and "role player" in plain.out
    listed = admin.ok("user", "list", "--json").json()
    assert [(u["name"], u["role"]) for u in listed] == [("Root", "admin"), ("Bob", "player")]
    assert [u["name"] for u in admin.ok("user", "list", "--limit", "1", "--json").json()] == [
        "Root"
    ]
    assert "Bob" in admin.ok("user", "list").out

    changed = admin.ok("user", "set-role", "Bob", "moderator", "--json").json()
    assert changed == {"id": changed["id"], "name": "Bob", "role": "moderator", "banned": False}
    assert admin.ok("user", "set-role", "Bob", "admin").out.strip() == "Bob is now admin"
    assert users(admin) == {"Root": "admin", "Bob": "admin"}

    # asked to type the name: the right name deletes
    assert admin.ok("user", "delete", "Bob", stdin="Bob\n").out.endswith("deleted Bob\n")
    assert admin.ok("user", "delete", "Root", "--yes").out.strip() == "deleted Root"
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
    ("args", "stdin", "message"),
    [
        (["set-role", "Nobody", "admin"], "", "no account named 'Nobody'"),
        (["set-role", "Bob", "wizard"], "", "invalid choice: 'wizard'"),
        (["set-role", "Bob"], "", "the following arguments are required: role"),
        (["delete", "Nobody", "--yes"], "", "no account named 'Nobody'"),
        (["delete", "Bob"], "Bobby\n", "confirmation did not match; nothing deleted"),
        (["delete", "Bob"], "", "no answer on standard input: use --yes"),
        (["create", "Bob", "--password-stdin"], PASSWORD, "the name 'Bob' is taken"),
        (["create", "bob", "--password-stdin"], PASSWORD, "the name 'bob' is taken"),
        (["create", "Eve", "--password-stdin"], "x\n", "password"),
        (["create", "Eve", "--password-stdin"], "", "password"),
        (["create", "E", "--password-stdin"], PASSWORD, "name"),
        (["create", "Eve", "--role", "god", "--password-stdin"], PASSWORD, "invalid choice"),
        (["create", "Eve"], "", "no answer on standard input: use --password-stdin"),
        (["list", "--limit", "-1"], "", "limit"),
        (["list", "--limit", "many"], "", "invalid int value"),
    ],
)
def test_user_bad_input_is_a_clear_error(
    people: Admin, args: list[str], stdin: str, message: str
) -> None:
    if args == ["create", "Eve"]:
        # getpass reads the terminal when there is one; make it fall back to standard input
        people.mp.setattr("getpass.getpass", lambda prompt="": input(prompt))
    assert message in people.fails("user", *args, stdin=stdin)
    assert users(people) == {"Root": "admin", "Bob": "player"}  # nothing changed


# ----------------------------------------------------------------------------------- worlds
def test_world_create_list_invite_fork_move_audit_delete(people: Admin, db: str) -> None:
    admin = people
    out = admin.ok("world", "create", "alpha", "--as", "Root", "--seed", "5",
                   "--visibility", "invite", "--limit", "10", "--no-pvp",
                   "--rules", '{"fuel_multiplier": 2}').out  # fmt: skip
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
    assert admin.ok("world", "invite", "alpha", "Bob", "--as", "Root").out.strip() == (
        "invited Bob into alpha"
    )
    store = open_store(db)
    try:
        assert ("alpha", bob, "invited") in store.list_members("alpha")
    finally:
        store.close()

    give_character(db, bob, "infinity", ship=41)
    forked = admin.ok("world", "fork", "infinity", "beta", "--as", "Root").out
    assert forked.startswith("forked infinity into beta:")
    listed = worlds(admin)
    assert listed["beta"]["characters"] == 1 and listed["beta"]["seed"] == "1"

    moved = admin.ok("world", "move", "Bob", "--from", "infinity", "--to", "alpha", "--as", "Root")
    assert "moved Bob from infinity to alpha: ship 41, 500 credits" in moved.out
    listed = worlds(admin)
    assert (listed["infinity"]["characters"], listed["alpha"]["characters"]) == (0, 1)

    audit = admin.ok("world", "audit", "alpha", "--json").json()
    assert {r["action"] for r in audit} >= {"create", "invited"}
    assert all(r["subject"] == "alpha" for r in audit)
    assert "invited" in admin.ok("world", "audit").out

    # the kill switch: alpha and everything in it goes; Bob's character goes home first
    assert rows_keyed_to(db, "alpha")
    done = admin.ok("world", "delete", "alpha", "--as", "Root", "--confirm", "alpha", "--now")
    assert done.out.startswith("deleted world alpha; audit record ")
    assert rows_keyed_to(db, "alpha") == {}
    assert set(worlds(admin)) == {"infinity", "beta"}
    assert worlds(admin)["infinity"]["characters"] == 1  # evacuated to the public world
    after = admin.ok("world", "audit", "alpha", "--json").json()
    assert after[0]["action"] == "deleted" and len(after) > len(audit)  # the log survives
    assert rows_keyed_to(db, "beta")  # the other worlds are untouched


def test_world_delete_asks_for_the_name(people: Admin, db: str) -> None:
    people.ok("world", "create", "gamma", "--as", "Root")
    assert "nothing deleted" in people.fails("world", "delete", "gamma", "--as", "Root",
                                             "--now", stdin="gama\n")  # fmt: skip
    assert "gamma" in worlds(people)
    people.ok("world", "delete", "gamma", "--as", "Root", "--now", stdin="gamma\n")
    assert "gamma" not in worlds(people) and rows_keyed_to(db, "gamma") == {}


def test_world_delete_scheduled_then_cancelled(people: Admin) -> None:
    out = people.ok("world", "delete", "infinity", "--as", "Root", "--confirm", "infinity",
                    "--override").out  # fmt: skip
    assert "deletion of infinity scheduled" in out
    assert worlds(people)["infinity"]["job"] == "countdown"
    assert "cancelled" in people.ok("world", "cancel", "infinity", "--as", "Root").out
    assert worlds(people)["infinity"]["job"] is None
    assert "can be cancelled" in people.fails("world", "cancel", "infinity", "--as", "Root")


def test_world_delete_with_a_second_administrators_approval(people: Admin, db: str) -> None:
    people.mp.setenv("CALLISTER_WORLD_DELETE_APPROVAL", "true")
    people.ok("user", "create", "Second", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    people.ok("world", "create", "delta", "--as", "Root")
    asked = people.ok("world", "delete", "delta", "--as", "Root", "--confirm", "delta", "--now")
    assert "a second administrator must approve" in asked.out
    assert worlds(people)["delta"]["job"] == "approval"
    assert "not the requester" in people.fails("world", "approve", "delta", "--as", "Root")
    assert "not an administrator" in people.fails("world", "approve", "delta", "--as", "Bob")
    assert "approved" in people.ok("world", "approve", "delta", "--as", "Second").out
    people.ok("world", "delete", "delta", "--as", "Root", "--confirm", "delta", "--now")
    assert "delta" not in worlds(people) and rows_keyed_to(db, "delta") == {}
    actions = [r["action"] for r in people.ok("world", "audit", "delta", "--json").json()]
    assert "delete_approved" in actions and actions[0] == "deleted"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        # who is acting
        (["create", "gamma"], "", "the following arguments are required: --as"),
        (["delete", "alpha", "--confirm", "alpha"], "", "required: --as"),
        (["create", "gamma", "--as", "Bob"], "", "'Bob' is not an administrator (role player)"),
        (["create", "gamma", "--as", "Nobody"], "", "no account named 'Nobody'"),
        # create
        (["create", "alpha", "--as", "Root"], "", "a world named 'alpha' exists"),
        (["create", "Bad Name", "--as", "Root"], "", "world name 'Bad Name'"),
        (["create", "gamma", "--as", "Root", "--visibility", "secret"], "", "invalid choice"),
        (["create", "gamma", "--as", "Root", "--rules", "{nope"], "", "--rules is not JSON"),
        (["create", "gamma", "--as", "Root", "--rules", "[1]"], "", "must be a JSON object"),
        (["create", "gamma", "--as", "Root", "--rules", '{"gravity": 2}'], "", "unknown rules"),
        (["create", "gamma", "--as", "Root", "--limit", "-1"], "", "player_limit"),
        (["create", "gamma", "--as", "Root", "--seed", "1" + "0" * 20], "", "seed"),
        # invite
        (["invite", "nowhere", "Bob", "--as", "Root"], "", "no world named 'nowhere'"),
        (["invite", "alpha", "Nobody", "--as", "Root"], "", "no account named 'Nobody'"),
        # fork
        (["fork", "nowhere", "gamma", "--as", "Root"], "", "no world named 'nowhere'"),
        (["fork", "infinity", "alpha", "--as", "Root"], "", "a world named 'alpha' exists"),
        # move
        (["move", "Bob", "--from", "infinity", "--to", "alpha", "--as", "Root"], "",
         "has no character in world 'infinity'"),
        (["move", "Nobody", "--from", "infinity", "--to", "alpha", "--as", "Root"], "",
         "no account named 'Nobody'"),
        (["move", "Bob", "--from", "infinity", "--to", "nowhere", "--as", "Root"], "",
         "no world named 'nowhere'"),
        (["move", "Bob", "--from", "alpha", "--to", "alpha", "--as", "Root"], "",
         "the same world"),
        (["move", "Bob", "--to", "alpha", "--as", "Root"], "", "required: --from"),
        # delete, approve, cancel
        (["delete", "alpha", "--as", "Root", "--confirm", "alpah"], "", "did not match"),
        (["delete", "alpha", "--as", "Root"], "", "use --confirm alpha"),
        (["delete", "nowhere", "--as", "Root", "--confirm", "nowhere"], "",
         "no world named 'nowhere'"),
        (["delete", "infinity", "--as", "Root", "--confirm", "infinity", "--now"], "",
         "infinity is the public world: add --override"),
        (["approve", "alpha", "--as", "Root"], "", "no deletion of 'alpha' is waiting"),
        (["cancel", "alpha", "--as", "Root"], "", "no deletion of 'alpha' can be cancelled"),
        (["explode", "alpha"], "", "invalid choice: 'explode'"),
    ],
)  # fmt: skip
def test_world_bad_input_is_a_clear_error(
    people: Admin, db: str, args: list[str], stdin: str, message: str
) -> None:
    people.ok("world", "create", "alpha", "--as", "Root", "--seed", "3")
    before = worlds(people)
    audit = people.ok("world", "audit", "--json").json()
    assert message in people.fails("world", *args, stdin=stdin)
    assert worlds(people) == before  # nothing changed
    assert people.ok("world", "audit", "--json").json() == audit


# ------------------------------------------------------------------- through the real binary
def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> Result:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLISTER_")}
    out = subprocess.run(
        [sys.executable, "-m", "callister", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
        start_new_session=True,  # no controlling terminal: getpass reads standard input
        env={
            **base,
            "CALLISTER_ARGON2_TIME_COST": "1",
            "CALLISTER_ARGON2_MEMORY_KIB": "8192",
            **(env or {}),
        },
    )
    return Result(out.returncode, out.stdout, out.stderr)


def test_the_real_command_line(tmp_path: Path) -> None:
    """The same errors from `python -m callister`: exit status 2, one line, no traceback."""
    db = f"sqlite:///{tmp_path}/cli.db"
    made = cli("admin", "--db", db, "user", "create", "Root", "--role", "admin", stdin=PASSWORD)
    assert made.code == 0 and "created Root" in made.out, made.err  # the prompt read stdin
    assert cli("admin", "--db", db, "world", "create", "alpha", "--as", "Root").code == 0
    for args, stdin, message in [
        (["world", "create", "alpha", "--as", "Root"], "", "a world named 'alpha' exists"),
        (["world", "invite", "nowhere", "Root", "--as", "Root"], "", "no world named"),
        (["world", "delete", "alpha", "--as", "Root"], "", "use --confirm alpha"),
        (["user", "delete", "Root"], "", "use --yes"),
        (["user", "create", "Eve"], "", "use --password-stdin"),
    ]:
        result = cli("admin", "--db", db, *args, stdin=stdin)
        assert result.code == 2, (args, result)
        assert "Traceback" not in result.err and message in result.err, (args, result.err)
    bad_url = cli("admin", "--db", "bogus://nowhere", "user", "list")
    assert bad_url.code == 2 and "Traceback" not in bad_url.err
    assert bad_url.err.startswith("callister: unsupported store URL")
