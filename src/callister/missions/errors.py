"""The two ways the missions package says no.

`MissionError` refuses a pilot's request (accept, abandon, skip ...) with a code from the
protocol's closed set and a message that says what to do, so the server can answer the client
with an `error` as it does for the economy. `MissionDataError` says stored state (a character's
progress JSON) or a snapshot is malformed, naming the field.
"""

from __future__ import annotations

from callister.protocol.errors import ErrorCode


class MissionError(Exception):
    """A refused request: `code` (ErrorCode) and `message` for the pilot."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MissionDataError(ValueError):
    """Stored progress or an input value is malformed: `path` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
