"""docs/protocol.md is the wire contract: every code-level name it must mention is there."""

from __future__ import annotations

from pathlib import Path

from callister.protocol.errors import ErrorCode
from callister.protocol.limits import MAX_CLIENT_FRAME, MAX_WS_MESSAGE, PROTOCOL_VERSION
from callister.protocol.messages import MESSAGE_TYPES
from callister.protocol.snapshot import HEADER, RECORD_DTYPE
from callister.server import gateway

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def test_every_error_code_is_documented() -> None:
    for code in ErrorCode:
        assert f"`{code.value}`" in DOC, code


def test_every_client_message_type_is_documented() -> None:
    for kind in MESSAGE_TYPES:
        assert f"| `{kind}` |" in DOC, kind


def test_close_codes_and_limits_match_the_code() -> None:
    for name in dir(gateway):
        if name.startswith("CLOSE_"):
            assert f"| {getattr(gateway, name)} |" in DOC, name
    assert f"version {PROTOCOL_VERSION}" in DOC
    assert str(MAX_CLIENT_FRAME) in DOC and str(MAX_WS_MESSAGE) in DOC
    assert f"Record ({RECORD_DTYPE.itemsize} bytes)" in DOC
    assert f"{HEADER.size}     {RECORD_DTYPE.itemsize}*n_changed" in DOC


def test_record_fields_are_documented_in_order() -> None:
    positions = [DOC.index(f"`{name}`", DOC.index("Record (")) for name in RECORD_DTYPE.names]
    assert positions == sorted(positions)
