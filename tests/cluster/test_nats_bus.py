"""NatsBus against a real nats-server: the Bus interface across processes' connections.

The server has the cluster's auth on: each bus connects with a role's identity and uses
subjects that role may use (cluster/subjects.py): a gateway's clients' frames to a worker
(``cl.in.*``) and back (``cl.out.*``), and between workers ``cl.move.*``."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from tests.cluster._support import NatsServer, TcpProxy
from tests.waiting import until

from callister.cluster import codec
from callister.cluster.nats_bus import NatsBus
from callister.cluster.subjects import GATEWAY, WORKER, in_subject, move_subject, out_subject
from callister.protocol.intents import Input, Jump
from callister.server.bus import Bus
from callister.sim.frame import ZoneFrame

KEY = "infinity.0.0"
Make = Callable[..., Awaitable[NatsBus]]


@pytest.fixture
async def make_bus(nats_server: NatsServer) -> AsyncIterator[Make]:
    buses: list[NatsBus] = []

    async def _make(
        url: str | None = None, start: bool = True, role: str = WORKER, **kw: Any
    ) -> NatsBus:
        auth = nats_server.auth(role)
        bus = NatsBus(url or nats_server.url, name=f"bus{len(buses)}", auth=auth, **kw)
        buses.append(bus)
        if start:
            await bus.start(timeout=5)
        return bus

    yield _make
    for bus in buses:
        await bus.close(timeout=0.5)


def frame(n: int, tick: int = 1) -> ZoneFrame:
    cols: dict[str, Any] = {name: np.zeros(n, np.float32) for name in ("x", "y", "vx", "vy")}
    cols.update(angle=np.zeros(n, np.float32), flags=np.zeros(n, np.uint8))
    cols.update(ids=np.arange(n, dtype=np.uint64), owner=np.zeros(n, np.int64))
    cols.update(kind=np.zeros(n, np.uint8), hull=np.zeros(n, np.uint8))
    return ZoneFrame(tick=tick, **cols)


async def test_intents_and_ticks_cross_between_processes(make_bus: Make) -> None:
    gateway, worker = await make_bus(role=GATEWAY), await make_bus()
    bus: Bus = worker  # NatsBus is a Bus
    intents: list[Any] = []
    ticks: list[Any] = []
    worker.subscribe(in_subject(KEY), intents.append)
    gateway.subscribe(out_subject(KEY), ticks.append)
    await worker.flush()
    await gateway.flush()

    sent = [Input(1, 10, 0.5, -0.25, True), Jump(1, 10, 2, -1)]
    for intent in sent:
        gateway.publish(in_subject(KEY), intent)
    for t in range(1, 6):
        bus.publish(out_subject(KEY), codec.ZoneOutput(KEY, t, frame(50, t), []))
    await until(lambda: len(intents) == 2 and len(ticks) == 5)
    assert intents == sent
    assert [t.tick for t in ticks] == [1, 2, 3, 4, 5]  # in publish order
    assert len(ticks[0].frame) == 50
    counters = worker.counters()
    assert counters["callister_bus_sent_total"] == 5 and counters["callister_bus_connected"] == 1


async def test_publish_never_waits_for_the_network(make_bus: Make, proxy: TcpProxy) -> None:
    """Cut off (black hole) the publisher still returns at once: publish is no coroutine, it
    only encodes and queues, and nothing reaches the network during the calls; a slow or dead
    network costs the tick nothing. (What publishing costs is measured by `callister bench
    cluster`, not asserted here.)"""
    bus = await make_bus(url=proxy.url)
    proxy.partition()
    assert not inspect.iscoroutinefunction(bus.publish)
    big = codec.ZoneOutput(KEY, 1, frame(2000), [])
    sent = bus.stats.sent
    for _ in range(200):
        assert bus.publish(out_subject(KEY), big) is None
    assert bus.stats.published == 200 and bus.stats.sent == sent
    assert bus.queue_bytes > 0


async def test_messages_published_before_start_are_sent(make_bus: Make) -> None:
    listener = await make_bus()
    got: list[Any] = []
    listener.subscribe(move_subject("x"), got.append)
    await listener.flush()
    late = await make_bus(start=False)
    late.publish(move_subject("x"), Input(1, 2, 0.0, 0.0))
    await late.start()
    await until(lambda: got == [Input(1, 2, 0.0, 0.0)])


async def test_reconnects_after_the_server_is_killed(
    make_bus: Make, nats_server: NatsServer
) -> None:
    publisher, subscriber = await make_bus(), await make_bus()
    got: list[int] = []
    subscriber.subscribe(move_subject("r"), lambda m: got.append(m.tick))
    await subscriber.flush()
    publisher.publish(move_subject("r"), codec.ZoneOutput("r", 1, frame(1, 1), []))
    await until(lambda: got == [1])

    nats_server.kill()
    await until(lambda: not publisher.connected and not subscriber.connected)
    publisher.publish(move_subject("r"), codec.ZoneOutput("r", 2, frame(1, 2), []))  # queued
    nats_server.start()
    await until(lambda: publisher.connected and subscriber.connected)
    await subscriber.flush()  # re-subscribed by the client on reconnect
    for t in range(3, 6):
        publisher.publish(move_subject("r"), codec.ZoneOutput("r", t, frame(1, t), []))
    await until(lambda: got[-3:] == [3, 4, 5])
    assert set(got) <= {1, 2, 3, 4, 5} and got == sorted(got)  # at most once, in order
    assert publisher.stats.disconnects >= 1 and publisher.stats.reconnects >= 1


async def test_a_full_queue_drops_the_oldest(make_bus: Make, nats_server: NatsServer) -> None:
    bus = await make_bus(max_queue_bytes=64 * 1024)
    nats_server.kill()
    await until(lambda: not bus.connected)
    message = codec.ZoneOutput(KEY, 1, frame(100), [])  # ~4 KB
    for _ in range(100):
        bus.publish(out_subject(KEY), message)
    counters = bus.counters()
    assert counters["callister_bus_queue_bytes"] <= 64 * 1024
    assert counters["callister_bus_dropped_total"] >= 80


async def test_failing_handler_is_counted_and_others_still_run(make_bus: Make) -> None:
    bus = await make_bus()
    good: list[Any] = []

    def bad(message: Any) -> None:
        raise RuntimeError("handler bug")

    bus.subscribe(move_subject("h"), bad)
    bus.subscribe(move_subject("h"), good.append)
    await bus.flush()
    bus.publish(move_subject("h"), Input(1, 2, 0.0, 0.0))
    bus.publish(move_subject("h"), Input(1, 2, 1.0, 0.0))
    await until(lambda: len(good) == 2)
    await until(lambda: bus.stats.handler_errors == 2)


async def test_unsubscribe_stops_delivery(make_bus: Make) -> None:
    bus = await make_bus()
    got: list[Any] = []
    sub = bus.subscribe(move_subject("u"), got.append)
    await bus.flush()
    bus.publish(move_subject("u"), Input(1, 2, 0.0, 0.0))
    await until(lambda: len(got) == 1)
    sub.unsubscribe()
    marks: list[Any] = []
    bus.subscribe(move_subject("u2"), marks.append)
    await bus.flush()
    bus.publish(move_subject("u"), Input(1, 2, 0.0, 0.0))
    bus.publish(move_subject("u2"), Input(1, 2, 0.0, 0.0))  # after it, on the same connection
    await until(lambda: len(marks) == 1)
    assert len(got) == 1


async def test_undecodable_messages_are_dropped(make_bus: Make) -> None:
    bus = await make_bus()
    got: list[Any] = []
    bus.subscribe(move_subject("g"), got.append)
    await bus.flush()
    assert bus.nc is not None
    await bus.nc.publish(move_subject("g"), b"garbage")
    bus.publish(move_subject("g"), Input(1, 2, 0.0, 0.0))
    await until(lambda: len(got) == 1)
    assert bus.stats.decode_errors == 1
