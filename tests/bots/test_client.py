"""A v2 bot's handling of update frames (bots/client.py, `_on_update`), without a server: fed
the frames the real view engine recorded over a crowd, it holds what the reference client holds
(its own ship's position, heading and docked flag, every entity's predicted position), and a gap
or a malformed frame still asks for a RESYNC, as docs/protocol.md requires."""

from __future__ import annotations

import math
from typing import Any, cast

from tests.protocol.test_fastview import recorded

from callister.bench.views import FIRST_ID
from callister.bots.client import Bot
from callister.protocol.updates import ClientView, encode_update


def offline_bot() -> Bot:
    # no socket: nothing is sent, and `_lost_view` only counts (the session is never used)
    bot = Bot("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "offline", session=cast(Any, None),
              protocol=2)  # fmt: skip
    bot.docked = False
    return bot


def test_a_v2_bot_holds_what_the_reference_client_holds() -> None:
    for player, frames in enumerate(recorded()):
        bot, ref = offline_bot(), ClientView()
        bot.ship = FIRST_ID + player
        for data in frames:
            bot._on_frame(data)
            update = ref.apply_frame(data)
            mine = ref.entities[bot.ship]
            assert bot.pos == mine.metres_at(update.tick)
            assert bot.angle == mine.angle_at(update.tick) / 65536.0 * 2.0 * math.pi
            assert bot.positions() == {i: r.metres_at(ref.tick) for i, r in ref.entities.items()}
        assert bot.stats.errors == 0 and bot.resyncs_asked == 0
        assert bot.stats.snapshots == len(frames) and len(bot.positions()) > 40


def test_a_gap_or_a_bad_frame_asks_for_a_resync_until_one_comes() -> None:
    frames = recorded()[0]
    bot = offline_bot()
    bot.ship = FIRST_ID
    for data in frames[:5]:
        bot._on_frame(data)
    seq, tick = bot.v2view.seq, bot.v2view.tick
    bot._on_frame(encode_update(tick + 1, seq + 2, bot.v2view.origin, [], [], []))  # a gap
    assert bot.stats.error_codes == {"VIEW_GAP": 1} and bot.resyncs_asked == 1
    bot._on_frame(frames[5][:-1])  # cut short: malformed; the RESYNC is already asked for
    assert bot.stats.error_codes == {"VIEW_GAP": 1, "BAD_UPDATE": 1} and bot.resyncs_asked == 1
    assert frames[20][1] & 1 and not any(f[1] & 1 for f in frames[5:20])
    for data in frames[5:20]:  # ignored until the RESYNC (recorded at frame 20 of client 0)
        bot._on_frame(data)
        assert bot.v2view.seq == seq  # the view as it was before the gap
    ref = ClientView()
    for data in frames[20:]:
        bot._on_frame(data)
        ref.apply_frame(data)
    assert bot.v2view.entities == ref.entities and bot.ship in bot.v2view
    assert bot.stats.errors == 2 and bot.resyncs_asked == 1
