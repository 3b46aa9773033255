"""The web client and the admin console against a real cluster: a gateway, workers, a private
nats-server and PostgreSQL. A player in the browser keeps the same socket while the worker
simulating their system is killed with SIGKILL (a pause, then the game goes on), and an
administrator moves the system live to another worker from the console."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from tests.cluster.test_cluster_processes import PG, cluster_env
from tests.web.harness import AdminConsole, Player, register_account, until

from callister.cluster.procs import Cluster, NatsProcess
from callister.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nats = NatsProcess(tmp_path / "nats")
    nats.start()
    schema = f"cb_{uuid.uuid4().hex[:12]}"
    c = Cluster(f"{PG}?schema={schema}", nats.url, tmp_path / "procs", cluster_env(), nats.keys)
    try:
        yield c
    finally:
        c.stop_all()
        nats.stop()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def wait_for(what: str, cond: Any) -> Any:
    return until(what, cond, timeout=20, every=0.2)


def test_player_rides_out_a_worker_kill_and_an_admin_moves_the_system(
    cluster: Cluster,
    browser: Any,
) -> None:
    cluster.start("worker", "w1")
    gw = cluster.start("gateway", "g1")
    for name in ("w1", "g1"):
        cluster.wait_healthy(name, 120.0)
    cluster.wait_workers("g1", 1)

    pilot = Player(browser, gw.url, "Rider_1")
    s = pilot.register()
    zone = f"infinity.{s['system']['x']}.{s['system']['y']}"
    assert zone in cluster.health("w1")["zones"]
    pilot.page.evaluate("window.callister.net.ws.__first = true")  # to recognise the socket

    def flowing(after: int) -> bool:
        return bool(pilot.page.evaluate("window.callister.net.stats.snapshots") > after + 10)

    cluster.start("worker", "w2")
    cluster.wait_healthy("w2", 120.0)
    cluster.wait_workers("g1", 2)

    # the worker simulating the player's system dies: w2 takes it, the client keeps its socket
    cluster.kill("w1")
    killed = time.monotonic()
    wait_for("w2 owns the system", lambda: zone in cluster.health("w2")["zones"])
    count = pilot.page.evaluate("window.callister.net.stats.snapshots")
    wait_for("snapshots flow again", lambda: flowing(count))
    resumed_after = time.monotonic() - killed
    assert pilot.page.evaluate("window.callister.net.ws.__first === true"), "it reconnected"
    s = pilot.snap()
    assert s["inGame"] and s["status"] == "online" and s["reconnects"] == 0
    assert resumed_after < 12.0, resumed_after

    # an administrator moves the system to a third worker from the console
    admin_name = "Chief_1"
    register_account(gw.url, admin_name)
    store = open_store(cluster.db)
    try:
        store.accounts.set_role(admin_name, "admin")
    finally:
        store.db.close()
    cluster.start("worker", "w3")
    cluster.wait_healthy("w3", 120.0)
    cluster.wait_workers("g1", 2)  # w1 is dead: w2 and w3
    admin = AdminConsole(browser, gw.url)
    console = admin.log_in(admin_name, "[data-testid=worker-row-w3]", timeout=15)
    assert zone in (console.text_content("[data-testid=worker-zones-w2]") or "")
    assert console.is_hidden("#admin-worlds-section")  # worlds are `callister serve`'s
    console.fill("[data-testid=move-zone]", zone)
    console.fill("[data-testid=move-to]", "w3")
    console.fill("[data-testid=move-reason]", "make room on w2")
    console.click("[data-testid=move-submit]")
    console.wait_for_selector("#admin-msg:has-text('moved')", timeout=20000)
    wait_for(
        "the console shows the system on w3",
        lambda: zone in (console.text_content("[data-testid=worker-zones-w3]") or ""),
    )
    assert zone in cluster.health("w3")["zones"] and zone not in cluster.health("w2")["zones"]
    count = pilot.page.evaluate("window.callister.net.stats.snapshots")
    wait_for("snapshots after the move", lambda: flowing(count))
    assert pilot.page.evaluate("window.callister.net.ws.__first === true")
    assert pilot.snap()["inGame"]
    # a move of a system nobody simulates is refused with a clear message
    console.fill("[data-testid=move-zone]", "infinity.9999.9999")
    console.fill("[data-testid=move-to]", "")
    console.click("[data-testid=move-submit]")
    console.wait_for_selector("#admin-msg:has-text('no worker owns')", timeout=20000)
    store = open_store(cluster.db)
    try:
        audit = [e for e in store.moderation.list_audit("infinity") if e.action == "move_zone"]
    finally:
        store.db.close()
    assert any(e.detail.get("zone") == zone and e.reason == "make room on w2" for e in audit)
    assert not admin.errors and not pilot.page_errors, (admin.errors, pilot.page_errors)
