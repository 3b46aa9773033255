from __future__ import annotations

import pytest

from callister.agents import Licence, template_reply
from callister.agents.clonefile import SigningKey, export_clone, read_clone_file
from callister.agents.host import HOST_ID, HostSession

from ._support import make_clone

KEY = SigningKey.generate()


def _package(clone_id: int, name: str, **kw: object):
    clone = make_clone(clone_id, name=name, **kw)  # type: ignore[arg-type]
    return read_clone_file(export_clone(clone, KEY, world="infinity", tick=500))


def _reply(clone, text, speaker, name, tick):  # type: ignore[no-untyped-def]
    return template_reply(
        clone, text, speaker=speaker, speaker_name=name, tick=tick, allow_orders=speaker == HOST_ID
    )


def test_hosted_clones_remember_where_they_came_from_and_talk() -> None:
    unlicensed = Licence(owner=3, subject=4)
    s = HostSession(
        [_package(1, "Ada"), _package(2, "Rook", licence=unlicensed)], _reply, host_name="Sam"
    )
    intro = s.start()
    assert [line.speaker for line in intro] == ["Ada", "Rook [UNLICENSED]"]
    assert "made in world infinity" in intro[0].text and "hosted by Sam" in intro[0].text
    ada = s.clones[0]
    assert ada.lineage.history[-1].event == "hosted"
    arrived = ada.memory.latest("arrived")
    assert arrived is not None and "came from world infinity" in arrived.text
    assert "tick" not in arrived.text and "#" not in arrived.text  # speech: no ticks, no ids
    lines = s.say("where are you from?")
    speakers = [line.speaker for line in lines]
    assert speakers[:2] == ["Ada", "Rook"] and len(lines) == 3  # and one clone answers the other
    assert lines[2].to in ("Ada", "Rook") and lines[2].to != lines[2].speaker
    assert any("Rook told Sam" in m.text for m in ada.memory)  # they hear each other
    only = s.say("@rook what do you remember?")
    assert only[0].speaker == "Rook" and only[0].to == "Sam"
    assert s.say("@nobody hi")[0].speaker == "*"
    who = s.say("/who")
    assert len(who) == 2 and "licence unlicensed" in who[1].text
    assert s.say("/memories ada 2")[0].text.startswith("Ada @")
    assert s.say("/quit")[0].text == "Goodbye." and s.finished


def test_dead_clones_are_shown_but_silent() -> None:
    dead = make_clone(3, name="Ghost")
    dead.die(400, "reactor breach")
    pkg = read_clone_file(export_clone(dead, KEY, world="infinity", tick=500))
    s = HostSession([_package(1, "Ada"), pkg], _reply)
    intro = s.start()
    assert "cannot be woken" in intro[1].text
    lines = s.say("hello")
    assert [line.speaker for line in lines] == ["Ada"]
    assert "dead" in s.say("@ghost hi")[0].text
    with pytest.raises(ValueError):
        HostSession([], _reply)
