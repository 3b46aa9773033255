"""The HTTP API on a real loopback server: accounts, look-ups, health, metrics, roles."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import LiveServer, make_settings, running

from callister.bots.client import Bot
from callister.server.auth import Passwords
from callister.server.metrics import scrape_refusal


async def register(
    http: aiohttp.ClientSession, live: LiveServer, name: str, password: str = "secret-pass-1"
) -> dict:  # type: ignore[type-arg]
    async with http.post(
        f"{live.http}/api/register", json={"name": name, "password": password}
    ) as r:
        assert r.status == 201, await r.text()
        return await r.json()  # type: ignore[no-any-return]


async def test_register_login_me_logout(
    live: LiveServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the server logs at info; a bad log call must not break it
    reg = await register(http, live, "Alice")
    assert reg["account"]["name"] == "Alice" and reg["account"]["role"] == "player"
    body = {"name": "alice", "password": "secret-pass-1"}  # names match case-insensitively
    async with http.post(f"{live.http}/api/login", json=body) as r:
        assert r.status == 200
        token = (await r.json())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{live.http}/api/me", headers=auth) as r:
        assert (await r.json())["name"] == "Alice"
    async with http.post(f"{live.http}/api/logout", headers=auth) as r:
        assert r.status == 204
    async with http.get(f"{live.http}/api/me", headers=auth) as r:
        assert r.status == 401


async def test_passwords_are_stored_as_argon2id(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    await register(http, live, "Hashy", "plain-text-pw")
    account = live.services.store.accounts.by_name("Hashy")
    assert account is not None
    assert account.password_hash.startswith("$argon2id$")
    assert "plain-text-pw" not in account.password_hash
    assert Passwords(1, 8192).verify(account.password_hash, "plain-text-pw")


async def test_registration_errors(live: LiveServer, http: aiohttp.ClientSession) -> None:
    await register(http, live, "Bob")
    cases = [
        ({"name": "bob", "password": "another-pass"}, 409, "NAME_TAKEN"),
        ({"name": "x", "password": "long-enough"}, 400, "BAD_FIELD"),
        ({"name": "Robert'); DROP", "password": "long-enough"}, 400, "BAD_FIELD"),
        ({"name": "Carol", "password": "short"}, 400, "BAD_FIELD"),
        ({"name": 5, "password": "long-enough"}, 400, "BAD_FIELD"),
    ]
    for body, status, code in cases:
        async with http.post(f"{live.http}/api/register", json=body) as r:
            assert r.status == status, body
            assert (await r.json())["error"]["code"] == code
    for raw in (b"not json", b"[1,2]", b'{"name": NaN}'):
        async with http.post(
            f"{live.http}/api/register", data=raw, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "BAD_JSON"
    async with http.post(f"{live.http}/api/register", data=b"x" * 70_000) as r:
        assert r.status == 413


async def test_wrong_password_and_throttle(live: LiveServer, http: aiohttp.ClientSession) -> None:
    await register(http, live, "Dave")
    statuses = []
    for _ in range(12):
        async with http.post(
            f"{live.http}/api/login", json={"name": "Dave", "password": "wrong-password"}
        ) as r:
            statuses.append(r.status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]  # failed logins are throttled (login_per_minute = 10)
    async with http.post(
        f"{live.http}/api/login", json={"name": "Nobody", "password": "x" * 9}
    ) as r:
        assert r.status in (401, 429)


async def test_health_and_metrics(live: LiveServer, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{live.http}/healthz") as r:
        health = await r.json()
    assert health["status"] == "ok" and health["db"] == "sqlite"
    assert set(health["tick_ms"]) >= {"p50", "p99"}
    async with http.get(f"{live.http}/metrics") as r:
        text = await r.text()
    for name in (
        "callister_tick_ms",
        "callister_players",
        "callister_zones_active",
        "callister_bytes_sent_total",
    ):
        assert name in text


async def test_metrics_are_not_public(
    live: LiveServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Without a metrics token only a loopback peer that no proxy forwarded reads /metrics; with
    one, only a request carrying it (from anywhere)."""
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        async with http.get(f"{live.http}/metrics", headers={header: "203.0.113.9"}) as r:
            assert r.status == 403, header
            error = (await r.json())["error"]
            assert error["code"] == "METRICS_REFUSED" and "metrics_token" in error["message"]
    async with running(make_settings(tmp_path, metrics_token="s3cret-scrape")) as locked:
        url = f"{locked.http}/metrics"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
            async with http.get(url, headers=headers) as r:
                assert r.status == 401, headers  # loopback alone is not enough with a token
                assert (await r.json())["error"]["code"] == "METRICS_REFUSED"
        headers = {"Authorization": "Bearer s3cret-scrape", "X-Forwarded-For": "203.0.113.9"}
        async with http.get(url, headers=headers) as r:
            assert r.status == 200 and "callister_tick_ms" in await r.text()


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [
        ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False), ("203.0.113.9", False), ("2001:db8::1", False),
        ("::ffff:10.0.0.5", False), (None, False), ("", False), ("not-an-ip", False),
    ],
)  # fmt: skip
def test_metrics_without_a_token_answer_only_loopback(remote: str | None, allowed: bool) -> None:
    assert (scrape_refusal(remote, {}, "") is None) is allowed
    refused = scrape_refusal(remote, {}, "tok")
    assert refused is not None and refused[0] == 401  # a token, once set, is always needed
    assert scrape_refusal(remote, {"Authorization": "Bearer tok"}, "tok") is None


def scrape(text: str) -> dict[str, float]:
    """Prometheus text -> {series: value} (labels kept in the series name)."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            values[series] = float(value)
    return values


async def test_connections_and_players_count_every_world(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Issue 13: `callister_connections` read 0 while /healthz counted the sockets (the world
    host counted them on the gateways without the gauge), and a second world's metrics were
    missing from /metrics altogether. Both now count every world of the process."""
    admin = await register(http, live, "Warden")
    live.services.store.accounts.set_role("Warden", "admin")
    auth = {"Authorization": f"Bearer {admin['token']}"}
    async with http.post(
        f"{live.http}/api/worlds", json={"name": "annex", "visibility": "public"}, headers=auth
    ) as r:
        assert r.status == 201, await r.text()
    bots = []
    for i, world in enumerate(("infinity", "infinity", "annex")):
        bot = Bot(live.http, live.ws, f"Counted{i}", session=http, jump_every_s=0)
        bot.world = world
        await bot.register()
        await bot.connect()
        bots.append(bot)

    async def counts() -> tuple[dict[str, float], dict[str, Any]]:
        async with http.get(f"{live.http}/metrics") as r:
            metrics = scrape(await r.text())
        async with http.get(f"{live.http}/healthz") as r:
            return metrics, await r.json()

    metrics, health = await counts()
    assert health["connections"] == 3 and health["players"] == 3, health
    assert metrics["callister_connections"] == 3 and metrics["callister_players"] == 3, metrics
    assert metrics["callister_logins_total"] == 3  # counted in whichever world
    await bots[2].close()
    deadline = time.monotonic() + 10.0
    while (await counts())[0]["callister_connections"] != 2:
        assert time.monotonic() < deadline, "the closed socket was never uncounted"
        await asyncio.sleep(0.05)
    for bot in bots[:2]:
        await bot.close()


async def test_admin_endpoint_refuses_anonymous_and_players(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{live.http}/api/admin/users") as r:
        assert r.status == 401
    token = (await register(http, live, "Eve"))["token"]
    async with http.get(
        f"{live.http}/api/admin/users", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 403
    live.services.store.accounts.set_role("Eve", "admin")
    async with http.get(
        f"{live.http}/api/admin/users", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        assert r.status == 200
        assert any(a["name"] == "Eve" for a in await r.json())


async def test_universe_lookups(live: LiveServer, http: aiohttp.ClientSession) -> None:
    home = live.services.world.homes[0]
    async with http.get(
        f"{live.http}/api/universe/system", params={"x": home[0], "y": home[1]}
    ) as r:
        system = await r.json()
    assert system["stations"] and system["links"]
    async with http.get(f"{live.http}/api/universe/map", params={"x": 0, "y": 0, "r": 3}) as r:
        assert len((await r.json())["systems"]) > 0
    for params, status in (
        ({"x": "a", "y": 0}, 400),
        ({"x": 2**64, "y": 0}, 400),
        ({"y": 0}, 400),
        ({"x": 0, "y": 0, "r": 99}, 400),
    ):
        url = "/api/universe/map" if "r" in params else "/api/universe/system"
        async with http.get(
            f"{live.http}{url}", params={k: str(v) for k, v in params.items()}
        ) as r:
            assert r.status == status, params


async def test_page_has_a_content_security_policy(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{live.http}/") as r:
        assert r.status == 200
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    async with http.get(f"{live.http}/static/js/main.js") as r:
        assert r.status == 200


async def test_secrets_never_reach_the_logs(
    live: LiveServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    from callister.server.logs import JsonFormatter

    caplog.set_level(logging.DEBUG)
    reg = await register(http, live, "Quiet", "hunter2-password")
    logging.getLogger("test").info(
        "login", extra={"password": "hunter2-password", "token": reg["token"]}
    )
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "hunter2-password" not in text and reg["token"] not in text


async def test_deeply_nested_json_gets_a_clear_error(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Every route that reads a JSON body answers a nested bomb with 400 BAD_JSON (a body too
    big to read with 413 TOO_LARGE), in the same error shape; never a 500."""
    token = (await register(http, live, "Nester"))["token"]
    live.services.store.accounts.set_role("Nester", "admin")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    routes = ("/api/login", "/api/register", "/api/admin/worlds/infinity/fork", "/api/mod/actions")
    bombs = {
        "[" * 30_000: (400, "BAD_JSON"),  # fits the 64 KiB body limit
        "[" * 5_000 + "]" * 5_000: (400, "BAD_JSON"),
        '{"a":' * 2_000 + "1" + "}" * 2_000: (400, "BAD_JSON"),
        '{"name":' + "[" * 40 + "]" * 40 + "}": (400, "BAD_JSON"),  # over MAX_JSON_DEPTH
        "[" * 100_000: (413, "TOO_LARGE"),  # over the body limit: never parsed
    }
    for route in routes:
        for bomb, (status, code) in bombs.items():
            async with http.post(f"{live.http}{route}", data=bomb.encode(), headers=auth) as r:
                assert r.status == status, (route, len(bomb), await r.text())
                error = (await r.json())["error"]
                assert error["code"] == code and error["message"], (route, error)
    # the server is fine afterwards
    async with http.post(
        f"{live.http}/api/login", json={"name": "Nester", "password": "secret-pass-1"}
    ) as r:
        assert r.status == 200
