"""The cluster's NATS security (docs/deploy.md, Security): each role is one nkey identity whose
permissions come from the subject table (cluster/subjects.py); nats-server refuses clients
without credentials and any role's publish or subscription outside its rows; and a worker
carries out a moderator's action only for an account that is a moderator in the database, even
when the request comes from a gateway's identity."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import nats.errors
import pytest
from nats.aio.client import Client
from tests.cluster._support import (
    NatsServer,
    cluster_env,
    first_home_zone,
    nats_server_binary,
    start_worker_and_gateway,
)
from tests.command_line import run_callister

from callister.cluster.nats_bus import ClientAuth, connect
from callister.cluster.natsconf import (
    new_seed,
    read_public_keys,
    render_conf,
    server_config,
    subject_markdown,
    write_keys,
)
from callister.cluster.procs import Cluster
from callister.cluster.remote import frames, new_sid
from callister.cluster.subjects import (
    ADMIN,
    BENCH,
    GATEWAY,
    MOD_ACT,
    ROLES,
    SUBJECTS,
    WORKER,
    attach_subject,
    bench_subject,
    claim_subject,
    inbox_prefix,
    out_subject,
    permissions,
)
from callister.store import open_store


def concrete(pattern: str) -> str:
    """A subject the pattern matches (wildcards filled in)."""
    return pattern.replace(">", "x.y").replace("*", "x")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_callister(*args, env=cluster_env(), timeout=60)


# ------------------------------------------------------------------ the table and its config


def test_every_subject_is_in_the_table_once_and_each_role_gets_only_its_rows() -> None:
    patterns = [s.pattern for s in SUBJECTS]
    assert len(patterns) == len(set(patterns))
    for s in SUBJECTS:
        assert set(s.publishers) | set(s.subscribers) <= set(ROLES), s
        assert s.publishers or s.subscribers, s
    # moderator actions and sessions come only from gateways; JetStream is the workers'
    assert [s.publishers for s in SUBJECTS if s.pattern == MOD_ACT] == [(GATEWAY,)]
    assert [s.publishers for s in SUBJECTS if s.pattern == "cl.attach.>"] == [(GATEWAY,)]
    for role in (GATEWAY, ADMIN, BENCH):
        allowed = permissions(role)["publish"]["allow"]  # type: ignore[index]
        assert not any(p.startswith("$") or p.startswith("handoff") for p in allowed), role
    # each role reads only its own replies
    for role in ROLES:
        subscribe = permissions(role)["subscribe"]["allow"]  # type: ignore[index]
        inboxes = [p for p in subscribe if p.startswith("_INBOX")]
        assert inboxes == [f"{inbox_prefix(role)}.>"]


def test_the_deploy_doc_shows_the_subject_table_as_the_code_has_it() -> None:
    deploy = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text()
    assert subject_markdown() in deploy, (
        "docs/deploy.md's subject table is out of date: paste natsconf.subject_markdown()"
    )


def test_the_cli_writes_keys_and_the_config_nats_server_accepts(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    out = run_cli("cluster", "nkeys", str(keys), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["role"] for r in rows] == list(ROLES)
    for row in rows:
        seed = Path(row["seed_file"])
        assert stat.S_IMODE(seed.stat().st_mode) == 0o600  # the seed is for its role alone
        assert (keys / f"{row['role']}.pub").read_text().strip() == row["public"]
        assert row["public"] not in seed.read_text()
    again = run_cli("cluster", "nkeys", str(keys), "--json")  # keeps existing keys
    assert json.loads(again.stdout) == rows

    conf = run_cli("cluster", "nats-config", "--keys", str(keys), "--store-dir", "/tmp/js")
    as_json = run_cli("cluster", "nats-config", "--keys", str(keys), "--json")
    assert conf.returncode == 0 and as_json.returncode == 0, conf.stderr + as_json.stderr
    config = json.loads(as_json.stdout)
    assert config == server_config(read_public_keys(keys))  # the code's config, unchanged
    assert conf.stdout == render_conf(server_config(read_public_keys(keys), store_dir="/tmp/js"))
    for role, user in zip(ROLES, config["authorization"]["users"], strict=True):
        assert user["permissions"] == permissions(role)
    for text, name in ((conf.stdout, "nats.conf"), (as_json.stdout, "nats.json")):
        (tmp_path / name).write_text(text)
        checked = subprocess.run(
            [nats_server_binary(), "-c", str(tmp_path / name), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    table = json.loads(run_cli("cluster", "nats-config", "--keys", str(keys), "--subjects").stdout)
    assert [row["subject"] for row in table] == [s.pattern for s in SUBJECTS]

    # bad input: a clear message, exit status 2
    out = run_cli("cluster", "nats-config", "--keys", str(tmp_path / "none"))
    assert out.returncode == 2 and "callister cluster nkeys" in out.stderr
    out = run_cli("cluster", "nats-config", "--keys", str(keys), "--max-payload", "lots")
    assert out.returncode == 2 and "not a size" in out.stderr
    out = run_cli("cluster", "nats-config", "--keys", str(keys), "--tls-cert", "x.pem")
    assert out.returncode == 2 and "--tls-key" in out.stderr


# --------------------------------------------------------------------- NATS refuses


async def test_nats_refuses_clients_without_credentials_or_with_unknown_keys(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    nats_server.expect_refusals()
    with pytest.raises(nats.errors.AuthorizationError):
        await connect(nats_server.url, name="anonymous", timeout=3)
    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(new_seed())
    with pytest.raises(nats.errors.AuthorizationError):
        await connect(nats_server.url, auth=ClientAuth(GATEWAY, str(stranger)), timeout=3)
    refusals = nats_server.refusals()
    assert len([line for line in refusals if "authentication error" in line]) >= 2, refusals


class Watcher:
    """A client of `role` that records the server's permission errors."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.errors: list[str] = []
        self.nc: Client | None = None

    async def start(self, server: NatsServer) -> Client:
        self.nc = await connect(
            server.url,
            name=f"test {self.role}",
            auth=server.auth(self.role),
            error_cb=lambda exc: self.errors.append(str(exc)),
            timeout=5,
        )
        return self.nc

    async def refused(self, subject: str, kind: str = "publish") -> bool:
        """Whether the server refuses `role` publishing (or subscribing to) `subject`."""
        before = len(self.errors)
        await self._try(subject, kind)
        # the server's errors to one client come in order, but not always before the PONG of
        # a flush: a second attempt on a subject no role may use is the barrier
        await self._try(BARRIER, kind)
        deadline = time.monotonic() + 10
        while not any(self._said(BARRIER, kind) in e for e in self.errors[before:]):
            assert time.monotonic() < deadline, f"no refusal of {BARRIER}: {self.errors[-3:]}"
            await asyncio.sleep(0.01)
        return any(self._said(subject, kind) in e for e in self.errors[before:])

    async def _try(self, subject: str, kind: str) -> None:
        assert self.nc is not None
        if kind == "publish":
            await self.nc.publish(subject, b"{}")
            await self.nc.flush()
        else:
            sub = await self.nc.subscribe(subject)
            await self.nc.flush()
            await sub.unsubscribe()

    @staticmethod
    def _said(subject: str, kind: str) -> str:
        # nats-py hands over the server's error in lower case
        return f'{"publish" if kind == "publish" else "subscription"} to "{subject}"'.lower()


BARRIER = "nobody.may.use.this"


async def test_each_role_is_refused_every_subject_outside_its_rows(
    nats_server: NatsServer,
) -> None:
    nats_server.expect_refusals()
    watchers = {role: Watcher(role) for role in ROLES}
    for watcher in watchers.values():
        await watcher.start(nats_server)
    # a worker listens on moderator actions: nothing another role sends may reach it
    listener = await nats_server.connect(WORKER)
    reached: list[Any] = []

    async def on_act(msg: Any) -> None:
        reached.append(msg)

    await listener.subscribe(MOD_ACT, cb=on_act)
    await listener.flush()
    try:
        for s in SUBJECTS:
            subject = concrete(s.pattern)
            for role, watcher in watchers.items():
                may_publish = role in s.publishers
                if not may_publish:
                    assert await watcher.refused(subject), (role, "publish", subject)
                elif not subject.startswith("$"):  # (JetStream's API: the cluster tests)
                    assert not await watcher.refused(subject), (role, "publish", subject)
                may_subscribe = role in s.subscribers
                refused = await watcher.refused(subject, "subscribe")
                assert refused != may_subscribe, (role, "subscribe", subject)
        # the one that matters most, by name: a worker's key cannot send a moderator action
        await asyncio.sleep(0.2)
        assert not await watchers[GATEWAY].refused(MOD_ACT)
        await listener.flush()
        deadline = time.monotonic() + 5
        while len(reached) < 2 and time.monotonic() < deadline:  # the gateway's two publishes
            await asyncio.sleep(0.05)
        assert len(reached) == 2  # from the gateway in the matrix and just now; no other role
    finally:
        for watcher in watchers.values():
            if watcher.nc is not None:
                await watcher.nc.close()
        await listener.close()


# -------------------------------------------------------- a worker checks the moderator


@pytest.fixture
def cluster(cluster: Cluster) -> Cluster:
    """The conftest's cluster, without the rebalancer: the test places the systems itself."""
    cluster.env["CALLISTER_REBALANCE_S"] = "0"
    return cluster


async def register(http: aiohttp.ClientSession, url: str, name: str) -> tuple[int, str]:
    body = {"name": name, "password": "bot-password-123"}
    async with http.post(f"{url}/api/register", json=body) as resp:
        assert resp.status in (200, 201), await resp.text()
        data = await resp.json()
    return int(data["account"]["id"]), str(data["token"])


async def test_a_forged_moderator_action_never_reaches_the_database(
    cluster: Cluster, nats_server: NatsServer
) -> None:
    nats_server.expect_refusals()
    await start_worker_and_gateway(cluster)  # the worker without --bench-spawn
    g = cluster.procs["g1"]
    async with aiohttp.ClientSession() as http:
        victim, _ = await register(http, g.url, "victim7")
        player, _ = await register(http, g.url, "pretender7")
        moderator, mod_token = await register(http, g.url, "realmod7")
    store = open_store(cluster.db)
    try:
        store.accounts.set_role("realmod7", "moderator")
        world = "infinity"

        def ban_body(reason: str) -> dict[str, Any]:
            return {"action": "ban", "account": victim, "reason": reason}

        gateway = await nats_server.connect(GATEWAY)
        try:
            # a gateway's identity naming a moderator that does not exist, or a player
            for claimed in (987654, player, 0):
                msg = json.dumps({"moderator": claimed, "body": ban_body("forged")}).encode()
                answer = json.loads((await gateway.request(MOD_ACT, msg, timeout=10)).data)
                assert answer["ok"] is False and answer["status"] == 403, answer
                assert answer["code"] == "FORBIDDEN"
            # a claim of staff powers in an attach is checked in the database: the player's
            # forged "admin" spectator session is refused by the worker
            zone = await claimed_zone(gateway)
            refusal = await forged_staff_attach(gateway, zone, player)
            assert refusal["error"]["code"] == "FORBIDDEN" and refusal["close"] == 4405
        finally:
            await gateway.close()

        # a worker's identity cannot even send one: NATS refuses the publish
        worker = Watcher(WORKER)
        await worker.start(nats_server)
        try:
            assert await worker.refused(MOD_ACT)
        finally:
            assert worker.nc is not None
            await worker.nc.close()

        # the synthetic-load subject is served only by a worker started with --bench-spawn
        bench = await nats_server.connect(BENCH)
        try:
            with pytest.raises(nats.errors.NoRespondersError):
                await bench.request(bench_subject("w1"), b'{"stats": true}', timeout=5)
        finally:
            await bench.close()

        assert store.moderation.active_bans(world, time.time()) == []
        assert store.moderation.list_audit(world) == []

        # the console's own path still works, and the audit names the real moderator
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {mod_token}"}
            async with http.post(
                f"{g.url}/api/mod/actions", json=ban_body("griefing"), headers=auth
            ) as r:
                assert r.status == 200, await r.text()
        (ban,) = store.moderation.active_bans(world, time.time())
        (entry,) = store.moderation.list_audit(world)
        assert ban.value == str(victim) and ban.by == moderator
        assert entry.moderator_id == moderator and entry.action == "ban"
    finally:
        store.db.close()


async def claimed_zone(gateway: Client) -> str:
    """Have w1 take the first home system (as a gateway does when a player logs in)."""
    zone = first_home_zone()
    request = json.dumps({"zone": zone}).encode()
    answer = json.loads((await gateway.request(claim_subject("w1"), request, timeout=20)).data)
    assert answer["ok"] is True, answer
    return zone


async def forged_staff_attach(gateway: Client, zone: str, account: int) -> dict[str, Any]:
    """Attach a session claiming the admin role for a player's account, asking to spectate;
    what the worker sends back (its error and close code)."""
    got: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()

    async def on_out(msg: Any) -> None:
        for _, kind, payload in frames(msg.data):
            got.put_nowait((kind, bytes(payload)))

    sub = await gateway.subscribe(out_subject("forger"), cb=on_out)
    x, y = (int(v) for v in zone.split(".")[1:])
    request = {
        "sid": new_sid(),
        "gw": "forger",
        "account": account,
        "address": "127.0.0.1",
        "who": {"name": "pretender7", "role": "admin", "created_at": 0.0},
        "hello": {"spectate": True, "follow": 0, "sector": [x, y], "moderator_ship": False},
    }
    answer = await gateway.request(attach_subject(zone), json.dumps(request).encode(), timeout=10)
    assert json.loads(answer.data)["ok"] is True
    out: dict[str, Any] = {}
    try:
        while "close" not in out:
            kind, payload = await asyncio.wait_for(got.get(), 15)
            if kind == b"T":
                message = json.loads(payload)
                assert message.get("t") == "error", f"a spectator session started: {message}"
                out["error"] = message
            elif kind == b"C":
                out["close"] = json.loads(payload)["code"]
    finally:
        await sub.unsubscribe()
    return out


def test_write_keys_refuses_unknown_roles_and_reads_what_it_wrote(tmp_path: Path) -> None:
    keys = write_keys(tmp_path)
    assert {k.role for k in keys} == set(ROLES)
    assert read_public_keys(tmp_path) == {k.role: k.public for k in keys}
    os.remove(tmp_path / "admin.pub")  # derived from the seed when the .pub is missing
    assert read_public_keys(tmp_path)["admin"] == next(k.public for k in keys if k.role == ADMIN)
    with pytest.raises(ValueError, match="unknown role"):
        write_keys(tmp_path, ("root",))
    (tmp_path / "bench.nk").write_text("not a seed")
    (tmp_path / "bench.pub").unlink()
    with pytest.raises(ValueError, match="nkey user seed"):
        read_public_keys(tmp_path)


# ----------------------------------------------------------------------------------- TLS


def make_pki(folder: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (PEM)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    files: dict[str, Path] = {}

    def write(name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        files[f"{name}_key"] = folder / f"{name}-key.pem"
        files[f"{name}_key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        files[name] = folder / f"{name}.pem"
        files[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def build(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None
    ) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        build("callister test CA", ca_key, None)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    write("ca", ca_key, ca)
    for name, usage, alt in (
        ("server", ExtendedKeyUsageOID.SERVER_AUTH, True),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH, False),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = build(f"callister {name}", key, ca.subject).add_extension(
            x509.ExtendedKeyUsage([usage]), critical=False
        )
        if alt:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        write(name, key, builder.sign(ca_key, hashes.SHA256()))
    return files


async def test_mutual_tls_with_the_settings(tmp_path: Path) -> None:
    from callister.cluster.natsconf import NatsConfigError, ServerTls
    from callister.cluster.procs import NatsProcess
    from callister.server.settings import Settings

    pki = make_pki(tmp_path)
    server = NatsProcess(
        tmp_path / "nats",
        tls=ServerTls(str(pki["server"]), str(pki["server_key"]), str(pki["ca"]), verify=True),
    )
    server.start()
    try:
        assert server.url.startswith("tls://")
        settings = Settings(
            nats_nkey=str(server.keys[WORKER]),
            nats_tls_ca=str(pki["ca"]),
            nats_tls_cert=str(pki["client"]),
            nats_tls_key=str(pki["client_key"]),
        )
        nc = await connect(server.url, auth=ClientAuth.from_settings(settings, WORKER), timeout=5)
        try:
            sub = await nc.subscribe("cl.hb.worker")
            await nc.publish("cl.hb.worker", b"beat")
            assert (await sub.next_msg(timeout=5)).data == b"beat"
        finally:
            await nc.close()
        # no client certificate (the server verifies clients), or a server the CA did not sign
        for bad in (
            Settings(nats_nkey=str(server.keys[WORKER]), nats_tls_ca=str(pki["ca"])),
            Settings(
                nats_nkey=str(server.keys[WORKER]),
                nats_tls_ca=str(pki["client"]),  # not the CA
                nats_tls_cert=str(pki["client"]),
                nats_tls_key=str(pki["client_key"]),
            ),
        ):
            with pytest.raises((OSError, TimeoutError, nats.errors.Error)):
                await connect(server.url, auth=ClientAuth.from_settings(bad, WORKER), timeout=3)
        # unreadable or half-given files are errors that name the setting
        with pytest.raises(NatsConfigError, match="nats_tls_ca"):
            ClientAuth.from_settings(Settings(nats_tls_ca=str(tmp_path / "none.pem")), WORKER)
        with pytest.raises(NatsConfigError, match="go together"):
            ClientAuth.from_settings(Settings(nats_tls_cert=str(pki["client"])), WORKER)
    finally:
        server.stop()
