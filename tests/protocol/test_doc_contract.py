"""docs/protocol.md is the wire contract: every code-level name it must mention is there, with
its meaning, and the numbers it quotes are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from callister.content import Content, load_content
from callister.content.schema import MAX_CRUISE_SPEED
from callister.protocol.errors import ErrorCode
from callister.protocol.limits import (
    MAX_CLIENT_FRAME,
    MAX_ENTITY_ID,
    MAX_WS_MESSAGE,
    PROTOCOL_VERSION,
)
from callister.protocol.messages import MESSAGE_TYPES
from callister.protocol.snapshot import HEADER, RECORD_DTYPE
from callister.server import gateway, session
from callister.server.metrics import TICK_WINDOW
from callister.server.settings import Settings
from callister.sim import rules
from callister.store import records as store_records
from callister.universe import links

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text()
SOURCES = {
    path: path.read_text() for path in (ROOT / "src" / "callister").rglob("*.py")
}  # every module, cluster included


def section(title: str) -> str:
    """The doc's text from heading `title` to the next heading of any level."""
    start = DOC.index(f"\n{title}\n")
    end = DOC.find("\n#", start + len(title) + 2)
    return DOC[start : end if end > 0 else len(DOC)]


def table_rows(text: str) -> dict[str, list[str]]:
    """First cell (backticks stripped) -> the other cells, for every table row in `text`."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def emitted(pattern: str) -> set[str]:
    """Every match of `pattern`'s first group in the source."""
    return {m.group(1) for text in SOURCES.values() for m in re.finditer(pattern, text)}


def test_every_error_code_is_documented_with_its_meaning() -> None:
    rows = table_rows(section("### Error codes"))
    for code in ErrorCode:
        assert code.value in rows, f"{code} has no row in the error table"
        assert rows[code.value][0], f"{code} has no meaning in the error table"
    assert set(rows) - {c.value for c in ErrorCode} <= set(http_error_rows())


def http_error_rows() -> dict[str, list[str]]:
    text = section("### Error codes")
    return table_rows(text[text.index("**HTTP error codes**") :])


def test_every_http_error_code_is_documented() -> None:
    codes = (
        emitted(r'(?:\b|_)error\(\s*\d+,\s*"([A-Z_]+)"')  # server/http.py's error(), _error()
        | emitted(r'json_error\(\s*[\w.]+,\s*"([A-Z_]+)"')
        | emitted(r'"code": "([A-Z_]+)"')
    )
    assert "NO_SUCH_CHARACTER" in codes
    rows = http_error_rows()
    for code in codes:
        assert code in rows and rows[code][1], f"HTTP error {code} is not in the doc's table"


def test_every_client_message_type_is_documented() -> None:
    for kind in MESSAGE_TYPES:
        assert f"| `{kind}` |" in DOC, kind


def test_every_server_message_and_event_is_documented() -> None:
    sent = emitted(r'encode_server\(\s*"([a-z_]+)"') | emitted(
        r'notify\(\s*[\w.\[\]]+,\s*"([a-z_]+)"'
    )
    assert {"welcome", "status", "event", "spectating"} <= sent
    rows = table_rows(section("### Server → client (JSON)"))
    for kind in sent:
        assert kind in rows, f"server message {kind} is not in the doc"
    events = emitted(r'"event",\s*(?:\*\*\w+,\s*)?kind="([a-z_]+)"') | {"boarding"}
    assert {"destroyed", "respawned", "warning"} <= events
    for kind in events:
        assert f"`{kind}` (" in rows["event"][0], f"event {kind} is not in the doc"


def test_every_metric_is_documented_and_every_documented_one_exists() -> None:
    names = emitted(r'"(callister_[a-z_]+)"')
    assert "callister_connections" in names and "callister_bus_connected" in names
    rows = table_rows(section("### Metrics"))
    assert names == set(rows), (names - set(rows), set(rows) - names)
    assert all(cells[1] for cells in rows.values())  # a meaning for each


def test_close_codes_and_limits_match_the_code() -> None:
    closes = table_rows(section("### Close codes").replace("| 1", "| `1").replace("| 4", "| `4"))
    for module in (gateway, session):  # the hello's and the session's close codes
        for name in dir(module):
            if name.startswith("CLOSE_"):
                assert f"| {getattr(module, name)} |" in DOC, name
    assert all(cells[0] for cells in closes.values())
    assert f"version {PROTOCOL_VERSION}" in DOC
    assert str(MAX_CLIENT_FRAME) in DOC and str(MAX_WS_MESSAGE) in DOC
    assert f"Record ({RECORD_DTYPE.itemsize} bytes)" in DOC
    assert f"{HEADER.size}     {RECORD_DTYPE.itemsize}*n_changed" in DOC


def test_numbers_the_doc_quotes_are_the_codes() -> None:
    s = Settings()
    quoted = {
        f"`msg_rate` ({s.msg_rate:g})": "msg_rate",
        f"`msg_burst` ({s.msg_burst:g})": "msg_burst",
        f"`flood_strikes` ({s.flood_strikes})": "flood_strikes",
        f"`login_per_minute` ({s.login_per_minute})": "login_per_minute",
        f"last {session.VIEW_HISTORY} snapshots": "VIEW_HISTORY",
        f"{session.SNAPSHOT_BACKLOG // 1024} KiB wait": "SNAPSHOT_BACKLOG",
        f"{session.JSON_BACKLOG // 2**20} MiB waiting": "JSON_BACKLOG",
        f"{session.JSON_QUEUE_MAX // 2**20} Mi characters": "JSON_QUEUE_MAX",
        f"less than {session.FLOOD_GAP_S:g} s apart": "FLOOD_GAP_S",
        f"last {TICK_WINDOW} ticks": "TICK_WINDOW",
        f"at most {rules.DOCK_MAX_SPEED:g} m/s": "DOCK_MAX_SPEED",
        f"charges for {rules.JUMP_CHARGE_TICKS} ticks": "JUMP_CHARGE_TICKS",
        f"{rules.UNDOCK_MARGIN:g} m clear": "UNDOCK_MARGIN",
        f"keeps {rules.RESTITUTION:g} of its speed": "RESTITUTION",
        f"{rules.BOUNDARY_FACTOR:g} system radii": "BOUNDARY_FACTOR",
        f"{rules.BOUNDARY_ACCEL:g} m/s²": "BOUNDARY_ACCEL",
        f"{rules.UNDOCK_SPEED:g} m/s (the undock lane)": "UNDOCK_SPEED",
        f"{rules.CRUISE_SPOOL_S:g} s spool-up": "CRUISE_SPOOL_S",
        f"cruise_speed / {rules.CRUISE_RAMP_S:g} s": "CRUISE_RAMP_S",
        f"{rules.CRUISE_DROP_DISTANCE:g} m of the surface": "CRUISE_DROP_DISTANCE",
        f"within {rules.CRUISE_SHIP_DISTANCE:g} m is closing": "CRUISE_SHIP_DISTANCE",
        f"{rules.CRUISE_COOLDOWN_S:g} s after a drop-out": "CRUISE_COOLDOWN_S",
        f"legs of at least {rules.CRUISE_MIN_LEG:g} m": "CRUISE_MIN_LEG",
        f"{rules.AUTOPILOT_AVOID_MARGIN:g} m clear of their surface": "AUTOPILOT_AVOID_MARGIN",
        f"within {rules.AUTOPILOT_TOLERANCE:g} m": "AUTOPILOT_TOLERANCE",
        f"at most {rules.AUTOPILOT_ARRIVE_SPEED:g} m/s": "AUTOPILOT_ARRIVE_SPEED",
        f"{rules.AUTOPILOT_FIELD_MARGIN:g} m outside": "AUTOPILOT_FIELD_MARGIN",
        f"{rules.ESCORT_DISTANCE:g} m from its hull": "ESCORT_DISTANCE",
        f"{rules.FUEL_RESERVE * 100:g} % of a full tank": "FUEL_RESERVE",
        f"{links.ARRIVAL_INSET} m from the gate": "ARRIVAL_INSET",
        f"{links.GATE_ARC} m along the station's orbit": "GATE_ARC",
        f"{links.GATE_STEP} m further": "GATE_STEP",
        f"{links.GATE_EDGE} m inside the system's radius": "GATE_EDGE",
        f"{MAX_CRUISE_SPEED:g} m/s": "MAX_CRUISE_SPEED",
    }
    flat = " ".join(DOC.split())  # the doc's lines wrap anywhere
    for text, name in quoted.items():
        assert text in flat, f"{name}: the doc should say {text!r}"
    # the id bound the doc promises is the one the store keeps
    assert store_records.MAX_ENTITY_ID == MAX_ENTITY_ID == 2**53 - 1
    assert "2^53 − 1" in flat


def flight_table(content: Content) -> str:
    """The doc's per-hull flight table, from the content files."""
    rows = [
        "| hull | thrust m/s² | top speed m/s | 0 → top s | turn °/s | fuel | burn /s | "
        "full-thrust endurance s | jump fuel | cruise m/s | cruise fuel /km | radius m | hull | "
        "shield | cargo | slots | price |",
        "|" + "---|" * 17,
    ]
    for key, h in content.hulls.items():
        endurance = round(h.fuel / h.fuel_burn) if h.fuel_burn else "∞"
        cells = [
            f"`{key}` ({h.name}{', starter' if h.starter else ''})",
            h.thrust, h.max_speed, round(h.max_speed / h.thrust, 1), h.turn_rate, h.fuel,
            h.fuel_burn, endurance, h.jump_fuel, h.cruise_speed or "—", h.cruise_fuel,
            h.radius, h.hull, h.shield, h.cargo, h.slots, h.price,
        ]  # fmt: skip
        rows.append("| " + " | ".join(f"{c:g}" if isinstance(c, float) else str(c) for c in cells))
        rows[-1] += " |"
    return "\n".join(rows)


def test_flight_table_is_the_contents() -> None:
    table = flight_table(load_content())
    assert table in section("### Flight model"), f"regenerate the table:\n{table}"


def test_record_fields_are_documented_in_order() -> None:
    positions = [DOC.index(f"`{name}`", DOC.index("Record (")) for name in RECORD_DTYPE.names]
    assert positions == sorted(positions)
