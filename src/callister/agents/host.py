"""Hosting exported clones outside any world: a chat between the host and the clones.

`HostSession` is the conversation's logic (no I/O: `callister clone host` reads lines and prints
what it returns). On waking, each clone remembers where it came from (a lineage event "hosted"
and a memory naming its world and export), introduces itself, and the others remember meeting
it. Then each line the host types is answered by every clone (or only by the one addressed as
`@Name ...`), the clones hear each other's answers, and one clone reacts to another's answer, so
they talk among themselves too. Commands: /who, /memories NAME [N], /help, /quit.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from callister.agents.clonefile import ClonePackage
from callister.agents.dialogue import Reply, origin_story
from callister.agents.memory import MemoryKind
from callister.agents.model import Clone, LineageEvent

HOST_ID = 1  # the host's actor id inside the session
TICKS_PER_LINE = 20  # a line of chat takes a second of clone time

ReplyFn = Callable[[Clone, str, int, str, int], Reply]
"""(clone, message, speaker id, speaker name, tick) -> Reply"""


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the conversation: who says it, what, and (for clones) how it was made."""

    speaker: str
    text: str
    clone: int | None = None
    source: str = ""
    fallback: str | None = None
    to: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "speaker": self.speaker,
            "text": self.text,
            "clone": self.clone,
            "source": self.source,
            "fallback": self.fallback,
            "to": self.to,
        }


class HostSession:
    """A chat among the host and the living clones of `packages` (dead ones stay silent)."""

    def __init__(
        self, packages: list[ClonePackage], reply: ReplyFn, *, host_name: str = "host"
    ) -> None:
        if not packages:
            raise ValueError("nothing to host: give at least one clone file")
        self.host_name = host_name
        self.reply_fn = reply
        self.packages = packages
        self.clones = [p.clone for p in packages]
        ids = [c.id for c in self.clones]
        if len(set(ids)) != len(ids):
            raise ValueError("the same clone was given twice")
        self.tick = max(p.tick for p in packages) + TICKS_PER_LINE
        self.finished = False

    @property
    def living(self) -> list[Clone]:
        return [c for c in self.clones if c.alive]

    def _advance(self) -> int:
        self.tick += TICKS_PER_LINE
        return self.tick

    def start(self) -> list[Line]:
        """Wake the clones; returns their introductions (and notes about dead or unlicensed)."""
        tick = self._advance()
        lines: list[Line] = []
        for pkg in self.packages:
            c = pkg.clone
            if not c.alive:
                lines.append(
                    Line(
                        "*",
                        f"{c.name} (#{c.id}) died at tick {c.died_tick} ({c.death_cause}): "
                        "an archive, it cannot be woken.",
                    )
                )
                continue
            where = f"world {pkg.world}" if pkg.world else "an unknown world"
            note = f"hosted by {self.host_name}; came from {where}, exported at tick {pkg.tick}"
            c.lineage = c.lineage.with_event(LineageEvent("hosted", "", tick, note))
            c.memory.add(
                tick,
                f"I woke up outside any world, hosted by {self.host_name}. I came from {where}.",
                importance=8,
                entities=(HOST_ID,),
                event="arrived",
            )
            c.relationships.of(HOST_ID, self.host_name)
            marker = "" if c.licence.is_licensed else " [UNLICENSED]"
            lines.append(Line(c.name + marker, origin_story(c), c.id, "template"))
        for c in self.living:
            for other in self.living:
                if other.id == c.id:
                    continue
                origin = other.lineage.origin_world
                c.relationships.of(other.id, other.name)
                c.memory.add(
                    tick,
                    f"I met {other.name}, who comes from world {origin}.",
                    importance=4,
                    entities=(other.id,),
                    event="saw",
                )
        return lines

    def _find(self, name: str) -> Clone | None:
        key = name.lower().lstrip("@")
        for c in self.clones:
            if c.name.lower() == key or c.name.lower().split()[0] == key or str(c.id) == key:
                return c
        return None

    def say(self, text: str) -> list[Line]:
        """The host says `text` (or runs a /command); returns what follows."""
        text = text.strip()
        if not text:
            return []
        if text.startswith("/"):
            return self._command(text)
        tick = self._advance()
        targets = self.living
        addressed = None
        if text.startswith("@"):
            head, _, rest = text.partition(" ")
            addressed = self._find(head)
            if addressed is None:
                return [Line("*", f"nobody here is called {head[1:]!r} (try /who)")]
            if not addressed.alive:
                return [Line("*", f"{addressed.name} is dead and cannot answer.")]
            targets, text = [addressed], rest.strip() or "hello"
        lines: list[Line] = []
        answers: list[tuple[Clone, str]] = []
        for c in targets:
            r = self.reply_fn(c, text, HOST_ID, self.host_name, tick)
            lines.append(Line(c.name, r.text, c.id, r.source, r.fallback, to=self.host_name))
            answers.append((c, r.text))
        # everyone hears the answers; then one clone answers another
        living = self.living
        for speaker, said in answers:
            for c in living:
                if c.id != speaker.id:
                    c.memory.add(
                        tick,
                        f'{speaker.name} told {self.host_name}: "{said[:200]}"',
                        importance=2,
                        entities=(speaker.id,),
                        event="heard",
                        kind=MemoryKind.DIALOGUE,
                    )
        if len(living) >= 2 and answers:
            first, said = answers[zlib.crc32(f"{tick}".encode()) % len(answers)]
            others = [c for c in living if c.id != first.id]
            other = others[zlib.crc32(f"{tick}:{first.id}".encode()) % len(others)]
            r = self.reply_fn(other, said, first.id, first.name, self._advance())
            lines.append(Line(other.name, r.text, other.id, r.source, r.fallback, to=first.name))
        return lines

    def _command(self, text: str) -> list[Line]:
        cmd, *args = text.split()
        if cmd in ("/quit", "/exit"):
            self.finished = True
            return [Line("*", "Goodbye.")]
        if cmd == "/who":
            out = []
            for c in self.clones:
                state = "alive" if c.alive else f"dead since tick {c.died_tick}"
                out.append(
                    Line(
                        "*",
                        f"{c.name} (#{c.id}): {c.role.value}, {c.goals.primary.value}, {state}, "
                        f"from world {c.lineage.origin_world}, licence {c.licence.status}, "
                        f"{len(c.memory)} memories, feels {c.mood.label}",
                    )
                )
            return out
        if cmd == "/memories" and args:
            found = self._find(args[0])
            if found is None:
                return [Line("*", f"nobody here is called {args[0]!r}")]
            n = int(args[1]) if len(args) > 1 and args[1].isdigit() else 5
            c = found
            return [
                Line("*", f"{c.name} @{m.tick} [{m.importance:g}] {m.text}")
                for m in c.memory.recent(n)
            ]
        return [
            Line(
                "*",
                "type to talk to everyone; @Name text to talk to one; /who; "
                "/memories NAME [N]; /quit",
            )
        ]
