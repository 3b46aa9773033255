"""Labelled synthetic sessions for the bot detector.

`bot_session` replays the timing and steering of the project's own bot (bots/client.py
`Bot.fly`): a control loop that sleeps U(0.3, 0.6) s, steers towards waypoints with a
continuous law, sends an input when thrust moves by > 0.1 or turn by > 0.15, or every 2 s.
`human_session` is keyboard play with realistic timing noise: key holds and pauses from
log-normal distributions, reaction delays (gamma, ~250 ms), quick taps and corrections (bursts),
and now and then a stretch of mouse steering (continuous values at 30-60 Hz with jitter).
"""

from __future__ import annotations

import math

import numpy as np

Session = list[tuple[float, float, float]]


def bot_session(seed: int, seconds: float = 120.0) -> Session:
    rng = np.random.default_rng(seed)
    t, heading = 0.0, float(rng.uniform(-math.pi, math.pi))
    target = float(rng.uniform(-math.pi, math.pi))
    out: Session = []
    sent, sent_at = (-1.0, 0.0), -10.0
    while t < seconds:
        if rng.random() < 0.08:  # reached a waypoint: a new one
            target = float(rng.uniform(-math.pi, math.pi))
        err = math.remainder(target - heading, 2 * math.pi)
        turn = max(-1.0, min(1.0, err * 1.5))
        thrust = 1.0 if abs(err) < 0.6 else 0.3
        heading += turn * 0.35 * float(rng.uniform(0.3, 0.6)) * 3.0
        if abs(thrust - sent[0]) > 0.1 or abs(turn - sent[1]) > 0.15 or t - sent_at > 2.0:
            net = float(rng.normal(0.0008, 0.0003))  # send + loopback jitter
            out.append((t + max(0.0, net), thrust, round(turn, 3)))
            sent, sent_at = (thrust, turn), t
        t += float(rng.uniform(0.3, 0.6))
    return out


def human_session(seed: int, seconds: float = 120.0) -> Session:
    rng = np.random.default_rng(seed)
    t = float(rng.uniform(0.0, 2.0))
    out: Session = []
    thrust, turn = 0.0, 0.0
    mouse_p = float(rng.uniform(0.0, 0.25))  # players differ: some never touch the mouse
    tap_p = float(rng.uniform(0.05, 0.4))
    pause = float(rng.uniform(0.4, 1.5))
    while t < seconds:
        r = rng.random()
        if r < mouse_p:  # a stretch of mouse steering
            for _ in range(int(rng.integers(5, 40))):
                t += float(rng.uniform(1 / 60, 1 / 30)) + abs(float(rng.normal(0, 0.004)))
                turn = float(np.clip(turn + rng.normal(0, 0.2), -1, 1))
                out.append((t, thrust, turn))
        else:  # a key press: down, hold, up; sometimes a quick correction
            key = rng.choice(["thrust", "left", "right", "brake"], p=[0.4, 0.25, 0.25, 0.1])
            t += float(rng.gamma(4.0, 0.06))  # reaction / decision delay
            if key == "thrust":
                thrust = 1.0
            elif key == "left":
                turn = 1.0
            elif key == "right":
                turn = -1.0
            out.append((t, thrust, turn))
            t += float(rng.lognormal(math.log(0.35), 0.9))  # hold
            thrust, turn = (0.0, turn) if key == "thrust" else (thrust, 0.0)
            out.append((t, thrust, turn))
            if rng.random() < tap_p:  # a tap to correct
                t += float(rng.uniform(0.04, 0.2))
                out.append((t, thrust, float(rng.choice([-1.0, 1.0]))))
                t += float(rng.uniform(0.05, 0.18))
                out.append((t, thrust, 0.0))
        t += float(rng.lognormal(math.log(pause), 1.0))  # pause
    return out


def labelled(n: int, seed: int = 0) -> list[tuple[bool, Session]]:
    """n bot sessions (True) and n human sessions (False), interleaved."""
    out: list[tuple[bool, Session]] = []
    for i in range(n):
        out.append((True, bot_session(seed * 100_003 + i)))
        out.append((False, human_session(seed * 100_003 + i)))
    return out


def precision_recall(n: int = 200, seed: int = 1) -> tuple[float, float]:
    from callister.moderation.detect.bots import detect

    tp = fp = fn = 0
    for is_bot, session in labelled(n, seed):
        flagged = detect(0, session) is not None
        tp += flagged and is_bot
        fp += flagged and not is_bot
        fn += (not flagged) and is_bot
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall
