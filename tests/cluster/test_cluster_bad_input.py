"""Bad input to the cluster's processes gets a clear answer, never a crash: malformed requests on
the NATS subjects a worker serves, and start-up with an unreachable NATS or a wrong database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from nats.aio.client import Client
from tests.cluster._support import NatsServer, cluster_env, first_home_zone, ready
from tests.command_line import run_callister
from tests.waiting import until

from callister.cluster.procs import Cluster, free_port
from callister.cluster.subjects import GATEWAY, WORKER
from callister.protocol.limits import MAX_HTTP_BODY

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def ask(nc: Client, subject: str, data: bytes) -> dict[str, object]:
    reply = await nc.request(subject, data, timeout=10)
    answer = json.loads(reply.data)
    assert isinstance(answer, dict)
    return answer


async def test_malformed_requests_are_answered_and_the_worker_lives_on(
    cluster: Cluster, nats_server: NatsServer
) -> None:
    cluster.start("worker", "w1")
    await ready(cluster, "w1")
    nc = await nats_server.connect(GATEWAY)  # what a gateway may send, malformed
    worker_nc = await nats_server.connect(WORKER)
    try:
        claim = "cl.claim.w1"
        for bad in (b"not json", b"{}", b'{"zone": "infinity.x.y"}', b'{"zone": 7}', b"[1,2]"):
            answer = await ask(nc, claim, bad)
            assert answer == {"ok": False, "error": "bad claim request"}, (bad, answer)
        answer = await ask(nc, claim, b'{"zone": "elsewhere.0.0"}')
        assert answer["ok"] is False and "runs infinity" in str(answer["error"])
        # a sector with no star system in it
        answer = await ask(nc, claim, b'{"zone": "infinity.123456.654321"}')
        assert answer["ok"] is False and "no star system" in str(answer["error"]), answer
        # a real zone: the first home system of the world's seed
        zone = first_home_zone()
        answer = await ask(nc, claim, json.dumps({"zone": zone}).encode())
        assert answer["ok"] is True, answer
        for bad in (b"garbage", b'{"sid": "s"}', b'{"sid": "s", "gw": "g", "account": "x"}'):
            answer = await ask(nc, f"cl.attach.{zone}", bad)
            assert answer == {"ok": False, "error": "bad attach request"}, (bad, answer)
        answer = await ask(
            nc, f"cl.attach.{zone}", b'{"sid": "s1", "gw": "g", "account": 987654321}'
        )
        assert answer == {"ok": False, "error": "account refused"}
        answer = await ask(nc, f"cl.move.{zone}", b"{{{")
        assert answer == {"ok": False, "error": "bad move request"}
        answer = await ask(nc, f"cl.move.{zone}", b"{}")
        assert answer["ok"] is False and "no other live worker" in str(answer["error"])
        # a malformed batch of relayed frames, and frames for a session that does not exist,
        # go nowhere, harmlessly
        await nc.publish("cl.in.w1", b"T{}")
        await nc.publish("cl.in.w1", b"0" * 32 + b"T" + (1000).to_bytes(4, "little") + b"{}")
        await nc.publish("cl.in.w1", b"f" * 32 + b"T" + (2).to_bytes(4, "little") + b"{}")
        await nc.publish("cl.hb.gateway", b"not json")
        await worker_nc.publish("cl.hb.worker", b"\xff\xfe")
        await worker_nc.flush()
        await nc.flush()
        await until(
            lambda: cluster.metrics("w1")["callister_bad_batches_total"] >= 2, "bad batches counted"
        )
        health = cluster.health("w1")
        assert health["ok"] and zone in health["zones"]
    finally:
        await nc.close()
        await worker_nc.close()


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_callister(*args, env=cluster_env(**(env or {})), timeout=60)


@pytest.mark.parametrize("role", ["worker", "gateway"])
def test_start_up_errors_say_what_to_fix(role: str, pg_url: str) -> None:
    port = str(free_port())
    dead = f"nats://127.0.0.1:{free_port()}"
    out = run_cli(role, "--nats", dead, "--db", pg_url, "--port", port)
    assert out.returncode == 2
    assert f"cannot reach NATS at {dead}" in out.stderr and "Traceback" not in out.stderr
    out = run_cli(role, "--nats", dead, "--db", "mysql://db/x", "--port", port)
    assert out.returncode == 2
    assert "unsupported store URL scheme" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("zone", "move", "--nats", dead)
    assert out.returncode == 2 and "needs a zone key" in out.stderr


@pytest.mark.parametrize("role", [WORKER, GATEWAY])
def test_missing_or_wrong_credentials_are_start_up_errors(
    role: str,
    nats_server: NatsServer,
    pg_url: str,
    tmp_path: Path,
) -> None:
    nats_server.expect_refusals()
    args = (role, "--nats", nats_server.url, "--db", pg_url, "--port", str(free_port()))
    out = run_cli(*args)  # no key
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "refused this process's credentials" in out.stderr
    out = run_cli(*args, "--nkey", str(tmp_path / "missing.nk"))
    assert out.returncode == 2 and "nkey seed file" in out.stderr, out.stderr
    (tmp_path / "junk.nk").write_text("SUnot-a-seed\n")
    out = run_cli(*args, env={"CALLISTER_NATS_NKEY": str(tmp_path / "junk.nk")})
    assert out.returncode == 2 and "does not hold an nkey user seed" in out.stderr, out.stderr
    other = GATEWAY if role == WORKER else WORKER
    out = run_cli(*args, "--nkey", str(nats_server.keys[other]))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert f"is not the {role} role's" in out.stderr and f"{role}.nk" in out.stderr
    assert "SU" not in out.stderr  # the seed itself is never printed


async def test_bad_hellos_at_a_gateway_are_refused_with_their_codes(cluster: Cluster) -> None:
    import aiohttp
    from tests.server.wsclient import close_code

    from callister.bots.client import Bot

    cluster.start("worker", "w1")
    cluster.start("gateway", "g1")
    await ready(cluster, "w1", "g1")
    g = cluster.procs["g1"]
    async with aiohttp.ClientSession() as http:
        bot = Bot(g.url, g.ws, "hello1", session=http)
        await bot.register()
        cases = [
            ("not json", 4400),
            (json.dumps({"t": "input", "ship": 1, "thrust": 1, "turn": 0}), 4400),
            (json.dumps({"t": "hello", "token": "nope", "v": 1}), 4401),
            (json.dumps({"t": "hello", "token": bot.token, "v": 1, "world": "elsewhere"}), 4404),
        ]
        for text, code in cases:
            ws = await http.ws_connect(g.ws)
            await ws.send_str(text)
            assert await close_code(ws) == code, text
            await ws.close()
        await bot.connect()  # and a good one still gets in
        assert bot.ship
        auth = {"Authorization": f"Bearer {bot.token}"}
        async with http.get(f"{g.url}/api/me", headers=auth) as resp:
            me = await resp.json()
        assert me["name"] == "hello1" and me["ship"]["id"] == bot.ship
        async with http.get(f"{g.url}/api/me/discovered", headers=auth) as resp:
            assert len((await resp.json())["systems"]) == 1
        async with http.get(f"{g.url}/api/me") as resp:
            assert resp.status == 401
        # request bodies: 64 KiB at most, as on one process (docs/protocol.md)
        padding = "x" * (MAX_HTTP_BODY + 1)
        body = {"name": "hello1", "password": "nope", "pad": padding}
        async with http.post(f"{g.url}/api/login", json=body) as resp:
            assert resp.status == 413
        body["pad"] = "x" * (MAX_HTTP_BODY - 200)
        async with http.post(f"{g.url}/api/login", json=body) as resp:
            assert resp.status == 401  # read and answered: a wrong password
        await bot.close()
