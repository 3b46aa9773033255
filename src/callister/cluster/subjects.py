"""Every NATS subject the cluster uses, and which role may publish or subscribe to it.

This table is the one place a subject is written down. The cluster's code builds its subjects
with the functions below, the nats-server configuration (`callister cluster nats-config`,
natsconf.py) grants each role exactly the rows that name it, and the tests start their private
nats-server with that configuration, auth on. A subject missing here is refused by NATS, so
the code and the table cannot drift apart unnoticed.

Roles (one NATS identity each, docs/deploy.md "Security"):

- ``gateway``: holds clients' sockets; the only role that may start sessions and send
  moderator actions (it authenticated the client and checked the moderator's role).
- ``worker``: owns zones; the only role with JetStream (leases, hand-offs).
- ``admin``: `callister zone list / move`.
- ``bench``: `callister bench cluster`'s synthetic load (workers listen only with
  ``--bench-spawn``).

Replies: each role's requests carry a reply subject under its own inbox prefix
(``_INBOX.<role>.``), which only that role may subscribe to, so one role never reads another's
replies. Answering a request needs no publish grant: every role has NATS' ``allow_responses``
(one reply to each request it received).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

GATEWAY, WORKER, ADMIN, BENCH = "gateway", "worker", "admin", "bench"
ROLES: tuple[str, ...] = (GATEWAY, WORKER, ADMIN, BENCH)


@dataclass(frozen=True, slots=True)
class Subject:
    """One row of the table: a NATS subject pattern (``*`` one token, ``>`` the rest)."""

    pattern: str
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    what: str


def _under(prefix: str) -> Callable[[str], str]:
    """A builder of the subjects `<prefix>.<key>` (the table's row for them: `<prefix>.>`)."""

    def subject(key: str) -> str:
        return f"{prefix}.{key}"

    return subject


# the builders the code uses (zone keys are <world>.<x>.<y> and node names may hold dots,
# hence ``>`` in the patterns below)
attach_subject = _under("cl.attach")  # .<zone>
claim_subject = _under("cl.claim")  # .<worker>
move_subject = _under("cl.move")  # .<zone>
in_subject = _under("cl.in")  # .<worker>
out_subject = _under("cl.out")  # .<gateway>
footage_subject = _under("cl.mod.footage")  # .<zone>
bench_subject = _under("cl.bench")  # .<worker>


def inbox_prefix(role: str) -> str:
    """The reply-subject prefix of `role`'s connections (nats-py's ``inbox_prefix``)."""
    return f"_INBOX.{role}"


LEASE_BUCKET = "callister-leases"  # JetStream KV bucket of zone leases (leases.py)
HANDOFF_STREAM = "CALLISTER_HANDOFFS"  # JetStream stream of hand-offs (outbox.py)
HANDOFF_PREFIX = "handoff"  # its subjects: handoff.<zone>
handoff_subject = _under(HANDOFF_PREFIX)  # .<zone>

WORKER_HEARTBEAT = "cl.hb.worker"
GATEWAY_HEARTBEAT = "cl.hb.gateway"
MOD_ACT = "cl.mod.act"
MOD_EFFECT = "cl.mod.effect"
MOD_DETECT = "cl.mod.detect"

_G, _W, _A, _B = (GATEWAY,), (WORKER,), (ADMIN,), (BENCH,)
_LEASES = f"KV_{LEASE_BUCKET}"
_JS = "$JS.API"

SUBJECTS: tuple[Subject, ...] = (
    # sessions
    Subject("cl.attach.>", _G, _W, "start or resume a client's session on the zone's owner"),
    Subject("cl.in.>", _G, _W, "clients' frames to the worker serving them"),
    Subject("cl.out.>", _W, _G, "frames for clients, close, moved, to their gateway"),
    # placement
    Subject("cl.claim.>", (GATEWAY, WORKER), _W, "ask a worker to take a zone"),
    Subject("cl.move.>", (GATEWAY, WORKER, ADMIN), _W, "hand a zone live to another worker"),
    Subject(WORKER_HEARTBEAT, _W, (GATEWAY, WORKER, ADMIN), "worker liveness, zones, load"),
    Subject(GATEWAY_HEARTBEAT, _G, _W, "gateway liveness"),
    # moderation: actions only from gateways (they checked the moderator's role)
    Subject(MOD_ACT, _G, _W, "a moderator's action (one worker, queue group)"),
    Subject(MOD_EFFECT, _W, _W, "an action's effect on the sessions every worker serves"),
    Subject(MOD_DETECT, _G, _W, "run the detectors on every worker"),
    Subject("cl.mod.footage.>", _G, _W, "save footage of a zone (its owner)"),
    # `callister bench cluster` (workers subscribe only when started with --bench-spawn)
    Subject("cl.bench.>", _B, _W, "synthetic load inside a worker"),
    # JetStream, workers only: the lease bucket and the hand-off stream
    Subject(f"{HANDOFF_PREFIX}.>", _W, (), "hand-offs into the stream (jumps between workers)"),
    Subject(f"$KV.{LEASE_BUCKET}.>", _W, (), "lease writes"),
    Subject(f"{_JS}.INFO", _W, (), "JetStream API level (per-key TTL support)"),
    Subject(f"{_JS}.STREAM.CREATE.{_LEASES}", _W, (), "create the lease bucket"),
    Subject(f"{_JS}.STREAM.INFO.{_LEASES}", _W, (), "bind an existing lease bucket"),
    Subject(f"{_JS}.STREAM.MSG.GET.{_LEASES}", _W, (), "read a lease"),
    Subject(f"{_JS}.STREAM.CREATE.{HANDOFF_STREAM}", _W, (), "create the hand-off stream"),
    Subject(f"{_JS}.STREAM.INFO.{HANDOFF_STREAM}", _W, (), "the hand-off stream's state"),
    Subject(
        f"{_JS}.CONSUMER.DURABLE.CREATE.{HANDOFF_STREAM}.>", _W, (), "a zone's hand-off consumer"
    ),
    Subject(f"{_JS}.CONSUMER.CREATE.{HANDOFF_STREAM}.>", _W, (), "the same, as clients name it"),
    Subject(f"{_JS}.CONSUMER.INFO.{HANDOFF_STREAM}.>", _W, (), "bind a zone's consumer"),
    Subject(f"{_JS}.CONSUMER.MSG.NEXT.{HANDOFF_STREAM}.>", _W, (), "pull a zone's hand-offs"),
    Subject(f"$JS.ACK.{HANDOFF_STREAM}.>", _W, (), "acknowledge a hand-off"),
    # replies: each role reads only its own
    *(Subject(f"{inbox_prefix(r)}.>", (), (r,), f"replies to {r} requests") for r in ROLES),
)


def permissions(role: str) -> dict[str, object]:
    """`role`'s NATS permissions: exactly the table's rows that name it, plus replies."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return {
        "publish": {"allow": [s.pattern for s in SUBJECTS if role in s.publishers]},
        "subscribe": {"allow": [s.pattern for s in SUBJECTS if role in s.subscribers]},
        "allow_responses": True,
    }
