"""`callister clone ...` end to end: new, export, import (verified), fork, kill, host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from callister.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def test_clone_round_trip_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    profile = tmp_path / "ada.toml"
    profile.write_text(
        'name = "Ada Vance"\nbackground = "Hauler pilot."\ntraits = ["brave", "talkative"]\n'
        "[skills]\npilot = 0.8\n"
    )
    code, out, _ = run(
        capsys,
        "clone",
        "new",
        "--profile",
        str(profile),
        "--role",
        "gunner",
        "--id",
        "4242",
        "--dir",
        a,
        "--json",
    )
    assert code == 0 and json.loads(out)["name"] == "Ada Vance"
    code, out, _ = run(
        capsys, "clone", "new", "--name", "Rook", "--subject", "5", "--dir", a, "--json"
    )
    rook = json.loads(out)
    assert rook["licence"] == "unlicensed" and rook["licensed"] is False
    code, out, _ = run(capsys, "clone", "list", "--dir", a)
    assert "[UNLICENSED]" in out and "Ada Vance" in out
    file = str(tmp_path / "ada.clone")
    code, out, _ = run(capsys, "clone", "export", "4242", "-o", file, "--dir", a, "--json")
    exported = json.loads(out)
    assert code == 0 and exported["bytes"] > 1000
    pub = str(tmp_path / "a.pub")
    code, out, _ = run(capsys, "clone", "key", "--dir", a, "--out", pub, "--json")
    assert json.loads(out)["fingerprint"] == exported["signer"]
    code, out, _ = run(
        capsys,
        "clone",
        "import",
        file,
        "--world",
        "elsewhere",
        "--dir",
        b,
        "--trust",
        pub,
        "--json",
    )
    imported = json.loads(out)
    assert code == 0 and imported["world"] == "elsewhere" and imported["memories"] == 2
    code, _, err = run(capsys, "clone", "import", file, "--world", "elsewhere", "--dir", b)
    assert code == 2 and "does not trust" in err  # --trust held for that one import only
    code, out, _ = run(capsys, "clone", "trust", "add", pub, "--world", "elsewhere", "--dir", b)
    assert code == 0 and exported["signer"] in out
    code, _, err = run(capsys, "clone", "import", file, "--world", "elsewhere", "--dir", b)
    assert code == 2 and "already exists" in err
    code, out, _ = run(
        capsys, "clone", "import", file, "--world", "elsewhere", "--dir", b, "--as-new", "--json"
    )
    assert code == 0 and json.loads(out)["id"] != 4242
    code, out, _ = run(capsys, "clone", "show", "4242", "--dir", b, "--json")
    shown = json.loads(out)
    assert shown["recent_memories"][0]["text"].startswith("I arrived in world elsewhere")
    assert shown["lineage"]["history"][-1]["event"] == "imported"
    code, out, _ = run(capsys, "clone", "fork", "4242", "--dir", b, "--name", "Ada II", "--json")
    assert json.loads(out)["parent"] == 4242 and json.loads(out)["generation"] == 1
    code, out, _ = run(capsys, "clone", "kill", "4242", "--dir", b, "--cause", "breach", "--json")
    assert json.loads(out)["alive"] is False
    code, _, err = run(capsys, "clone", "fork", "4242", "--dir", b)
    assert code == 2 and "dead clones cannot act" in err
    data = Path(file).read_bytes()
    (tmp_path / "cut.clone").write_bytes(data[: len(data) // 2])
    code, _, err = run(
        capsys, "clone", "import", str(tmp_path / "cut.clone"), "--world", "w", "--dir", b
    )
    assert code == 2 and "truncated" in err
    (tmp_path / "bad.clone").write_bytes(data.replace(b"Hauler pilot.", b"Hauler pilot!"))
    code, _, err = run(
        capsys, "clone", "import", str(tmp_path / "bad.clone"), "--world", "w", "--dir", b
    )
    assert code == 2 and "tampered" in err
    other = str(tmp_path / "other.pub")
    run(capsys, "clone", "key", "--dir", str(tmp_path / "c"), "--out", other)
    code, _, err = run(
        capsys, "clone", "import", file, "--world", "w", "--dir", b, "--trust", other
    )
    assert code == 2 and "does not trust" in err and "clone trust add" in err


def test_trust_commands_and_untrusted_imports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    run(capsys, "clone", "new", "--name", "Rook", "--id", "7", "--owner", "3", "--dir", a)
    file = str(tmp_path / "rook.clone")
    code, out, _ = run(capsys, "clone", "export", "7", "-o", file, "--dir", a, "--json")
    exported = json.loads(out)
    assert code == 0 and exported["claim_code"] and exported["owner"] == 3
    pub = str(tmp_path / "a.pub")
    run(capsys, "clone", "key", "--dir", a, "--out", pub)
    code, out, _ = run(capsys, "clone", "trust", "list", "--dir", b, "--json")
    keys = json.loads(out)["keys"]
    assert [k["source"] for k in keys] == ["own"]  # a world trusts its own key
    code, _, err = run(capsys, "clone", "trust", "add", keys[0]["public_key"], "--dir", b)
    assert code == 2 and "own" in err
    code, _, err = run(capsys, "clone", "trust", "add", "not-a-key", "--dir", b)
    assert code == 2 and "not a public key" in err
    # untrusted: refused; --allow-untrusted brings it in unowned, with a note
    code, _, err = run(capsys, "clone", "import", file, "--world", "w", "--dir", b)
    assert code == 2 and "--allow-untrusted" in err
    code, out, err = run(
        capsys, "clone", "import", file, "--world", "w", "--dir", b, "--allow-untrusted", "--json"
    )
    got = json.loads(out)
    assert code == 0 and got["owner"] is None and not got["trusted"] and "untrusted" in err
    code, _, err = run(capsys, "clone", "claim", "7", "--account", "5", "--code", "x", "--dir", b)
    assert code == 2 and "not clone 7's claim code" in err
    code, out, _ = run(
        capsys,
        "clone",
        "claim",
        "7",
        "--account",
        "5",
        "--code",
        exported["claim_code"],
        "--dir",
        b,
        "--json",
    )
    assert code == 0 and json.loads(out)["owner"] == 5
    code, out, _ = run(
        capsys,
        "clone",
        "trust",
        "add",
        pub,
        "--label",
        "alpha",
        "--world",
        "w",
        "--dir",
        b,
        "--json",
    )
    added = json.loads(out)
    assert code == 0 and added["fingerprint"] == exported["signer"]
    code, out, _ = run(capsys, "clone", "trust", "list", "--world", "w", "--dir", b)
    assert "alpha" in out and exported["signer"] in out
    code, out, _ = run(
        capsys, "clone", "trust", "remove", exported["signer"], "--world", "w", "--dir", b, "--json"
    )
    assert code == 0 and json.loads(out)["removed"]
    code, _, err = run(capsys, "clone", "trust", "remove", pub, "--world", "w", "--dir", b)
    assert code == 2 and "does not trust" in err


def test_clone_host_with_piped_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "d")
    run(capsys, "clone", "new", "--name", "Ada", "--id", "1", "--dir", d)
    run(capsys, "clone", "new", "--name", "Rook", "--id", "2", "--dir", d, "--world", "far")
    run(capsys, "clone", "export", "1", "-o", str(tmp_path / "ada.clone"), "--dir", d)
    run(capsys, "clone", "export", "2", "-o", str(tmp_path / "rook.clone"), "--dir", d)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "callister",
            "clone",
            "host",
            str(tmp_path / "ada.clone"),
            str(tmp_path / "rook.clone"),
            "--name",
            "Sam",
        ],
        input="hello\nwhere are you from?\n@Rook what do you remember?\n/who\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Ada: I'm Ada. I was made in world infinity" in out
    assert "Rook: I'm Rook. I was made in world far" in out
    assert "hosted by Sam" in out and "Goodbye." in out
    assert "(to Ada)" in out or "(to Rook)" in out  # they talk to each other


@pytest.mark.parametrize(
    "cmd",
    [
        ["clone"],
        *[
            ["clone", a]
            for a in (
                "new",
                "list",
                "show",
                "export",
                "import",
                "claim",
                "fork",
                "kill",
                "key",
                "trust",
                "consent",
                "host",
            )
        ],
        *[["clone", "trust", a] for a in ("add", "list", "remove")],
        *[["clone", "consent", a] for a in ("list", "revoke")],
        ["bench", "agents"],
    ],
    ids=lambda c: " ".join(c),
)
def test_help(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *cmd, "--help")
    assert code == 0 and "usage:" in out
