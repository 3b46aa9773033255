"""The one error content loading raises: it names the pack, file, entry and field at fault."""

from __future__ import annotations

from typing import Any


class ContentError(ValueError):
    """Content that cannot be used: a missing or unreadable file, bad TOML, an unknown or
    mistyped field, a value out of range, a broken reference, a pack over its limits.

    `file`, `entry` and `field` locate the first problem (each "" when it does not apply);
    `pack` is the content pack's name ("" for the base content); `reason` says what is wrong
    and what is allowed. `errors` lists every problem found (this one first), so a tool can
    report them all at once. `str()` reads like
    ``pack frontier: hulls.toml [corsair] thrust: must be a number in 1..1000, got "fast"``.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str = "",
        entry: str = "",
        field: str = "",
        pack: str = "",
        errors: tuple[ContentError, ...] = (),
    ) -> None:
        self.reason = reason
        self.file = file
        self.entry = entry
        self.field = field
        self.pack = pack
        self.errors: tuple[ContentError, ...] = errors or (self,)
        super().__init__(self.where() + reason)

    def where(self) -> str:
        """The location prefix of the message: "pack P: file [entry] field: " (parts omitted
        when empty)."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.entry:
            parts.append(f"[{self.entry}]")
        if self.field:
            parts.append(self.field)
        head = f"pack {self.pack}: " if self.pack else ""
        return head + (" ".join(parts) + ": " if parts else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of this one problem: pack, file, entry, field, reason, message."""
        return {
            "pack": self.pack,
            "file": self.file,
            "entry": self.entry,
            "field": self.field,
            "reason": self.reason,
            "message": str(self),
        }

    @classmethod
    def collected(cls, problems: list[ContentError]) -> ContentError:
        """One error standing for all `problems` (non-empty): the first, carrying every one
        in `errors`."""
        first = problems[0]
        return cls(
            first.reason,
            file=first.file,
            entry=first.entry,
            field=first.field,
            pack=first.pack,
            errors=tuple(problems),
        )
