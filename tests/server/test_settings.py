"""One settings object: defaults, TOML file, environment, command line; bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from callister.server.settings import Settings, SettingsError, load_settings, settings_table

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    s = load_settings(env={})
    assert (s.host, s.port, s.tick_hz) == ("127.0.0.1", 8000, 20)
    assert s.db.startswith("sqlite:///")


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("port = 9001\nworld_seed = 42\nlog_json = false\n")
    s = load_settings(cfg, env={"CALLISTER_PORT": "9002", "CALLISTER_AOI_RADIUS": "5000"})
    assert (s.port, s.world_seed, s.log_json, s.aoi_radius) == (9002, 42, False, 5000.0)
    s = load_settings(cfg, env={"CALLISTER_PORT": "9002"}, port=9003)
    assert s.port == 9003


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"CALLISTER_PORT": "eighty"}, "port"),
        ({"CALLISTER_PORT": "70000"}, "maximum"),
        ({"CALLISTER_TICK_HZ": "0"}, "minimum"),
        ({"CALLISTER_SNAPSHOT_HZ": "7"}, "divide"),
        ({"CALLISTER_REGISTRATION_OPEN": "maybe"}, "registration_open"),
        ({"CALLISTER_LOG_LEVEL": "loud"}, "log_level"),
        ({"CALLISTER_EVENT_LOOP": "tokio"}, "event_loop"),
    ],
)
def test_bad_environment_values(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env=env)


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1")
    with pytest.raises(SettingsError, match="unknown setting 'prot'"):
        load_settings(unknown, env={})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    assert settings_table() in readme, (
        "README settings table is stale: run callister settings --markdown"
    )
    assert len(Settings.__dataclass_fields__) == settings_table().count("\n| `")


def test_sqlite_durability_is_set_on_the_database_url(tmp_path: Path) -> None:
    """`sqlite_synchronous` was a setting nothing read (the store always ran FULL): it is gone,
    and naming it anywhere says where durability is chosen instead, the db URL, whose
    ?synchronous= reaches the PRAGMA of the store the server opens."""
    from callister.store import open_store

    with pytest.raises(SettingsError, match=r"was removed.*\?synchronous=NORMAL"):
        load_settings(env={"CALLISTER_SQLITE_SYNCHRONOUS": "NORMAL"})
    cfg = tmp_path / "old.toml"
    cfg.write_text('sqlite_synchronous = "NORMAL"\n')
    with pytest.raises(SettingsError, match=r"old.toml: setting 'sqlite_synchronous' was removed"):
        load_settings(cfg, env={})
    for query, level in (("?synchronous=NORMAL", 1), ("", 2)):  # NORMAL 1, FULL 2
        url = f"sqlite:///{tmp_path}/d{level}.db{query}"
        settings = load_settings(env={"CALLISTER_DB": url})
        with open_store(settings.db) as store:
            assert store.db.scalar("PRAGMA synchronous") == level
