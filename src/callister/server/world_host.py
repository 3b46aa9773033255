"""Many worlds on one server: a World (with its own bus and gateway) per live world, the
WebSocket router that sends a session to the world its hello names, moves between worlds and the
kill switch's job loop. Wired in by admin_routes.register (start-up hook); see docs/worlds.md.

One tick loop per World, not one shared loop: each World keeps its own fixed-rate loop with
drift correction (server/world.py, unchanged), so a world's tick time is its own (a busy private
world cannot make the public one overrun), a world starts and stops as one unit, and an idle
private world is stopped altogether after `world_idle_stop_s`. On the 2-core machine the cost of
an extra loop is one timer wake-up per tick (~20 us); a shared loop would save that but couple
every world's timing and need World restructured.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callister.protocol.errors import ErrorCode
from callister.protocol.messages import Hello, encode_server, error_message
from callister.server.bus import InProcessBus
from callister.server.gateway import (
    Gateway,
    authenticate,
)
from callister.server.metrics import Metrics
from callister.server.session import open_socket
from callister.server.tasks import single_flight
from callister.server.world import World
from callister.store import Account, WorldRecord
from callister.worlds import (
    DeletionPlan,
    KillSwitch,
    WorldRules,
    access,
    approve_deletion,
    request_deletion,
    visible_worlds,
)
from callister.worlds.content import move_character, world_content, world_params
from callister.worlds.placement import home_placement

log = logging.getLogger(__name__)
CLOSE_WORLD_REFUSED = 4404  # hello.world names a world the account may not enter
CLOSE_MOVED = 4410  # the world is gone (or the character moved): reconnect with bye.world
JOB_POLL_S = 0.5
# the registry is re-read this often (off the tick), so worlds created, invited into or changed
# by another process (the command line) appear without a restart; a lookup of a world this
# server does not know re-reads it at once (refresh)
REGISTRY_POLL_S = 3.0


@dataclass
class Runtime:
    record: WorldRecord
    world: World
    gateway: Gateway
    own: bool  # started here (the public world's runtime belongs to app.py)
    idle_since: float | None = None
    stopping: asyncio.Task[None] | None = None  # the one stop in progress (see _stop_runtime)
    content_version: int = 0  # the world's content version it runs (0: no pack ever set)


class WorldHost:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.settings = services.settings
        self.store = services.store
        self.writer = services.writer
        self.public = self.settings.world_name
        self.records: dict[str, WorldRecord] = {}
        self.members: dict[str, dict[int, str]] = {}
        self.runtimes: dict[str, Runtime] = {}
        self._starting: dict[str, asyncio.Future[Runtime]] = {}
        self._deleting: set[str] = set()
        self._announced: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._registry_lock = asyncio.Lock()
        self._registry_reads = 0  # reads started: refresh() waits for one that began after it
        self._registry_read_at = 0.0

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        return await self.writer.call(fn, *args)

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        s = self.settings
        rules = WorldRules(
            pvp=s.pvp,
            damage_multiplier=s.damage_multiplier,
            fuel_multiplier=s.fuel_multiplier,
            price_multiplier=s.price_multiplier,
            starting_credits=s.starting_credits,
        )
        public = self._public_record(rules)
        await self.call(self.store.worlds.ensure, public)
        await self.reload()
        record = self.records.get(self.public, public)
        runtime = Runtime(record, self.services.world, self.services.gateway, own=False)
        runtime.gateway.worlds_for = self.worlds_for
        self.runtimes[self.public] = runtime
        self._running = True
        self._task = asyncio.get_running_loop().create_task(self._job_loop(), name="world jobs")

    async def stop(self) -> None:
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for name, runtime in list(self.runtimes.items()):
            if runtime.own:
                await self._stop_runtime(name, "server shutting down")

    async def reload(self) -> None:
        """Re-read the registry and the memberships from the store."""
        async with self._registry_lock:
            await self._read_registry()

    async def refresh(self) -> None:
        """Re-read the registry unless a read that began after this call has finished: callers
        that ask while a read is under way share the next read (the one under way may have
        started before what they look for was created)."""
        ticket = self._registry_reads
        async with self._registry_lock:
            if self._registry_reads > ticket:  # a read began after the call (and has finished)
                return
            await self._read_registry()

    async def record(self, name: str) -> WorldRecord | None:
        """The world's registry record; an unknown name re-reads the registry first (a world
        another process created)."""
        if name not in self.records:
            await self.refresh()
        return self.records.get(name)

    async def admit(self, account: Account, name: str) -> str | None:
        """check_access, re-reading the registry before refusing (a world or an invitation
        another process created since the last read)."""
        refusal = self.check_access(account, name)
        if refusal is not None:
            await self.refresh()
            refusal = self.check_access(account, name)
        return refusal

    async def _read_registry(self) -> None:
        self._registry_reads += 1
        self._registry_read_at = time.monotonic()
        records = await self.call(self.store.worlds.all)
        self.records = {r.name: r for r in records}
        members: dict[str, dict[int, str]] = {}
        for world, account_id, status in await self.call(self.store.worlds.list_members):
            members.setdefault(world, {})[account_id] = status
        self.members = members

    async def runtime(self, name: str) -> Runtime:
        """The running world, started on demand."""
        found = self.runtimes.get(name)
        if found is not None and found.stopping is not None and found.own:
            # stopping (idle, or restarting into new content): wait, then start it afresh
            with contextlib.suppress(Exception):
                await asyncio.shield(found.stopping)
            found = self.runtimes.get(name)
        if found is not None:
            return found
        return await single_flight(self._starting, name, lambda: self._start_runtime(name))

    async def _start_runtime(self, name: str) -> Runtime:
        record = self.records.get(name)
        if record is None:
            raise LookupError(f"no world named {name}")
        rules = WorldRules.from_dict(record.rules)
        settings = dataclasses.replace(
            self.settings,
            world_name=record.name,
            world_seed=record.seed,
            pvp=rules.pvp,
            damage_multiplier=rules.damage_multiplier,
            fuel_multiplier=rules.fuel_multiplier,
            price_multiplier=rules.price_multiplier,
            starting_credits=rules.starting_credits,
        )
        bus = InProcessBus()
        metrics = Metrics(counters=self.services.metrics.counters)  # one process total
        # the world's own content (its pack over the base) and map (seed + generator params);
        # a stored pack that no longer loads refuses the start (ContentError), never runs as
        # something else
        version = await self.call(self.store.content.current, name)
        content = await self.call(world_content, self.store, name)
        world = World(
            settings, self.store, self.writer, bus, content, metrics, params=world_params(record)
        )
        world.rules = rules.zone_rules()  # with the resource (mining yield) multiplier too
        world.owner, world.public = record.owner, name == self.public  # its game masters
        await world.start()
        # a mute holds in every world
        gateway = Gateway(world, bus, settings, metrics, mutes=self.services.gateway.commands.mutes)
        gateway.worlds_for = self.worlds_for
        runtime = Runtime(record, world, gateway, own=True, idle_since=time.monotonic())
        runtime.content_version = 0 if version is None else version.version
        self.runtimes[name] = runtime
        log.info("world started", extra={"world": name, "seed": record.seed})
        return runtime

    async def _stop_runtime(self, name: str, reason: str, to_world: str | None = None) -> None:
        """Send everyone in the world away (bye with `world` when they have somewhere to go),
        save every ship, and stop the world's loops."""
        runtime = self.runtimes.get(name)
        if runtime is None:
            return
        if runtime.stopping is None:  # the first caller stops it; a concurrent one (a deletion
            # finishing while the server shuts down) waits for the same stop
            runtime.stopping = asyncio.get_running_loop().create_task(
                self._stop(name, runtime, reason, to_world)
            )
        await asyncio.shield(runtime.stopping)

    async def _stop(self, name: str, runtime: Runtime, reason: str, to_world: str | None) -> None:
        await self._evacuate(runtime, reason, to_world)
        if runtime.own:
            await runtime.world.stop()
        if self.runtimes.get(name) is runtime:
            del self.runtimes[name]
        log.info("world stopped", extra={"world": name, "reason": reason})

    async def _evacuate(self, runtime: Runtime, reason: str, to_world: str | None) -> None:
        gateway, world = runtime.gateway, runtime.world
        for session in list(gateway.sessions.values()):
            home = to_world if to_world is not None else await self._home_for(session.account.id)
            session.send_json(encode_server("bye", reason=reason, world=home))
        await asyncio.sleep(0.05)
        for session in list(gateway.sessions.values()):
            with contextlib.suppress(Exception):
                await session.ws.close(code=CLOSE_MOVED, message=b"world closed")
        for _ in range(100):  # the sessions' handlers detach and leave the world
            if not gateway.sessions:
                break
            await asyncio.sleep(0.02)
        for account_id in list(world.pilots):
            world.log_out(account_id)
        await world.checkpoint()

    async def _kick(self, account_id: int, reason: str, to_world: str | None) -> None:
        """Close the account's socket in whichever world it is, and log its pilot out there."""
        for runtime in list(self.runtimes.values()):
            session = runtime.gateway.sessions.get(account_id)
            if session is not None:
                session.send_json(encode_server("bye", reason=reason, world=to_world))
                await asyncio.sleep(0.02)
                with contextlib.suppress(Exception):
                    await session.ws.close(code=CLOSE_MOVED, message=b"moved")
                for _ in range(50):
                    if account_id not in runtime.gateway.sessions:
                        break
                    await asyncio.sleep(0.02)
            if account_id in runtime.world.pilots:
                runtime.world.log_out(account_id)

    def gateways(self) -> list[Gateway]:
        """Every running world's gateway (moderation closes a banned account's sockets in all)."""
        return [runtime.gateway for runtime in self.runtimes.values()]

    # ------------------------------------------------------------------ who may enter
    def connections(self) -> int:
        """WebSocket connections open on this server, in every world (authenticating too)."""
        return sum(r.gateway.connections for r in self.runtimes.values())

    def registries(self) -> list[Metrics]:
        """The metrics of the worlds started here (the public world's is the services')."""
        return [r.world.metrics for r in self.runtimes.values() if r.own]

    def population(self, name: str) -> int:
        runtime = self.runtimes.get(name)
        return 0 if runtime is None else len(runtime.world.pilots)

    def worlds_for(self, account: Account) -> list[dict[str, Any]]:
        memberships = {
            world: members[account.id]
            for world, members in self.members.items()
            if account.id in members
        }
        populations = {name: self.population(name) for name in self.records}
        return visible_worlds(
            self.records.values(), account.id, account.role, memberships, populations
        )

    def check_access(self, account: Account, name: str) -> str | None:
        record = self.records.get(name)
        runtime = self.runtimes.get(name)
        present = runtime is not None and account.id in runtime.world.pilots
        verdict = access(
            record,
            account.id,
            account.role,
            self.members.get(name, {}).get(account.id),
            self.population(name),
            present,
        )
        if name in self._deleting:
            return f"world {name} is being deleted"
        return None if verdict.allowed else verdict.reason

    async def _home_for(self, account_id: int) -> str | None:
        home = await self.call(self.store.worlds.get_home, account_id) or self.public
        if home in self._deleting or home not in self.records:
            home = self.public if self.public not in self._deleting else None
        return home

    # ------------------------------------------------------------------ the socket router
    async def handle_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = await open_socket(request, full=self.connections() >= self.settings.max_clients)
        if ws.closed:  # the server is full
            return ws
        public_gateway = self.services.gateway
        public_gateway.connections += 1  # counted while authenticating
        counted: Gateway = public_gateway
        try:
            found = await self._authenticate(ws)
            if found is None:
                return ws
            account, hello = found
            name = hello.world or await self._home_for(account.id) or self.public
            refusal = await self.admit(account, name)
            if refusal is not None:
                await ws.send_str(error_message(ErrorCode.WORLD_REFUSED, refusal))
                await ws.close(code=CLOSE_WORLD_REFUSED, message=b"world refused")
                return ws
            # one presence per account on the server: leaving another world for this one
            # (a spectator has no presence: a moderator may watch one world, play in another)
            for other, runtime in list(self.runtimes.items()):
                if (
                    other != name
                    and not hello.spectate
                    and (
                        account.id in runtime.gateway.sessions or account.id in runtime.world.pilots
                    )
                ):
                    await self._kick(account.id, f"entered world {name}", name)
            try:
                runtime = await self.runtime(name)
            except ValueError as exc:  # its content pack no longer loads, or is past limits
                log.error("world %s cannot start: %s", name, exc)
                await ws.send_str(
                    error_message(ErrorCode.WORLD_REFUSED, f"world {name} cannot start: {exc}")
                )
                await ws.close(code=CLOSE_WORLD_REFUSED, message=b"world cannot start")
                return ws
            if account.id in self.members.get(name, {}) and self.members[name][account.id] != (
                "member"
            ):
                await self.call(
                    self.store.worlds.set_member, name, account.id, "member", account.id
                )
                self.members.setdefault(name, {})[account.id] = "member"
            counted.connections -= 1
            counted = runtime.gateway
            counted.connections += 1
            runtime.idle_since = None
            await runtime.gateway.serve(ws, account, hello)
        finally:
            counted.connections -= 1
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> tuple[Account, Hello] | None:
        return await authenticate(
            ws,
            self.store,
            self.services.writer,
            self.services.metrics,
            self.settings.hello_timeout_s,
            bans_world=self.public,  # one ban list for every world of the server
        )

    # ------------------------------------------------------------------ actions
    async def create(self, record: WorldRecord, actor: int) -> WorldRecord:
        WorldRules.from_dict(record.rules)  # validated before it is stored
        created = await self.call(self.store.worlds.create, record, actor)
        self.records[created.name] = created
        return created

    async def invite(self, name: str, account_id: int, by: int) -> None:
        await self.call(self.store.worlds.set_member, name, account_id, "invited", by)
        self.members.setdefault(name, {}).setdefault(account_id, "invited")

    async def join(self, name: str, account_id: int) -> None:
        await self.call(self.store.worlds.set_member, name, account_id, "member", account_id)
        self.members.setdefault(name, {})[account_id] = "member"

    async def leave(self, name: str, account_id: int) -> bool:
        await self._kick(account_id, f"left world {name}", None)
        removed = bool(await self.call(self.store.worlds.remove_member, name, account_id))
        self.members.get(name, {}).pop(account_id, None)
        return removed

    async def move(self, account_id: int, source: str, destination: str, actor: int) -> Any:
        """Move the character (ship, cargo, credits, clones aboard) in one transaction; the
        player's socket, if any, is sent to the destination first (bye.world)."""
        record = self.records.get(destination)
        if record is None:
            raise LookupError(f"no world named {destination}")
        await self._kick(account_id, f"moving to world {destination}", destination)
        placement = home_placement(
            record.seed, self.settings.home_systems, account_id, world_params(record)
        )
        return await self.call(
            move_character,
            self.store,
            account_id,
            source,
            destination,
            placement=placement,
            actor=actor,
        )

    async def fork(self, source: str, record: WorldRecord, actor: int) -> dict[str, Any]:
        src = self.records.get(source)
        if src is None:
            raise LookupError(f"no world named {source}")
        runtime = self.runtimes.get(source)
        if runtime is not None:
            await runtime.world.checkpoint()  # the persisted state is the live state
        # the same map (seed and generator params) keeps what lies in space; another map
        # keeps only what does not depend on it
        params = world_params(record)
        spatial = record.seed == src.seed and params == world_params(src)
        seed, homes = record.seed, self.settings.home_systems
        result: dict[str, Any] = await self.call(
            self.store.worlds.fork,
            source,
            record,
            actor=actor,
            spatial=spatial,
            placement=None if spatial else (lambda a: home_placement(seed, homes, a, params)),
        )
        await self.reload()
        return result

    async def request_delete(self, name: str, actor: Account, confirm: str, override: bool) -> Any:
        """The kill switch over HTTP: the same rules as the command line (worlds.policy)."""
        await self.record(name)  # a world another process created is known before the check
        job = await self.call(
            request_deletion,
            self.store,
            name,
            actor,
            confirm=confirm,
            override=override,
            rules=KillSwitch.of(self.settings),
            now=time.time(),
            population=self.population(name),
        )
        self._poke()
        return job

    async def approve(self, name: str, actor: Account) -> Any:
        job = await self.call(approve_deletion, self.store, name, actor, time.time())
        self._poke()
        return job

    async def cancel(self, name: str, actor: Account) -> bool:
        done = bool(await self.call(self.store.deletions.cancel, name, actor.id, "cancelled"))
        self._announced.pop(name, None)
        return done

    def _poke(self) -> None:
        pass  # the job loop polls every JOB_POLL_S

    # ------------------------------------------------------------------ the job loop
    async def _job_loop(self) -> None:
        while self._running:
            try:
                await self._run_jobs()
                await self._stop_idle()
                if time.monotonic() - self._registry_read_at >= REGISTRY_POLL_S:
                    await self.refresh()
                    await self._content_changes()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("world job loop failed; retrying")
            await asyncio.sleep(JOB_POLL_S)

    async def _run_jobs(self) -> None:
        jobs = await self.call(self.store.deletions.all)
        now = time.time()
        for job in jobs:
            if job.world in self._deleting:
                continue
            if job.state == "approval":
                if job.approve_by is not None and now > job.approve_by:
                    await self.call(
                        self.store.deletions.cancel, job.world, None, "approval window expired"
                    )
                continue
            if job.state == "countdown":
                ends = job.ends_at if job.ends_at is not None else now
                left = max(0, round(ends - now))
                if left > 0:
                    self._announce(job.world, left)
                    continue
            self._deleting.add(job.world)
            asyncio.get_running_loop().create_task(self._delete(job.world), name="delete world")

    def _announce(self, name: str, left: int) -> None:
        """event world_ending to everyone in the world: now, every 10 s, each of the last 10."""
        last = self._announced.get(name)
        if last is not None and last == left:
            return
        if last is not None and left > 10 and left % 10 and last - left < 10:
            return
        self._announced[name] = left
        runtime = self.runtimes.get(name)
        if runtime is None:
            return
        text = encode_server("event", kind="world_ending", world=name, seconds=left)
        for session in list(runtime.gateway.sessions.values()):
            session.send_json(text)

    async def _delete(self, name: str) -> None:
        try:
            await self.call(self.store.deletions.begin, name)
            if name in self.records:
                self.records[name] = dataclasses.replace(self.records[name], state="deleting")
            await self._stop_runtime(name, f"world {name} was deleted")
            plan = DeletionPlan(
                self.store,
                name,
                self.public,
                self.settings.home_systems,
                self.settings.world_delete_batch,
            )
            for account_id, home in await self.call(plan.evacuees):
                await self.call(plan.move_one, account_id, home)
            await self.call(plan.close_ledger)
            while await self.call(plan.next_batch) is not None:
                pass  # one batch per writer call: other writes run between them
            audit_id = await self.call(plan.finish)
            log.warning("world deleted", extra={"world": name, "audit": audit_id})
            self.records.pop(name, None)
            self.members.pop(name, None)
            self._announced.pop(name, None)
            if name == self.public:  # the override: the public world starts again, empty
                await self.call(
                    self.store.worlds.ensure,
                    dataclasses.replace(
                        self._public_record(WorldRules(pvp=self.settings.pvp)), state="live"
                    ),
                )
                await self.reload()
                world = self.services.world
                world.zones.clear()  # what it had loaded is gone: reload from the database
                self.runtimes[self.public] = Runtime(
                    self.records[self.public], world, self.services.gateway, own=False
                )
        except Exception:
            log.exception("deleting world %s failed; the job resumes", name)
        finally:
            self._deleting.discard(name)

    def _public_record(self, rules: WorldRules) -> WorldRecord:
        """The public world's record: the settings' seed, open to all, without an owner."""
        return WorldRecord(
            name=self.public,
            seed=self.settings.world_seed,
            owner=None,
            visibility="public",
            player_limit=0,
            rules=rules.to_dict(),
        )

    async def _content_changes(self) -> None:
        """A running world (not the public one, which reads its pack at start-up) whose
        content got a new version restarts with it: everyone in it gets `bye` naming the same
        world and reconnects into the new content (their ships saved first)."""
        versions: dict[str, int] = await self.call(self.store.content.versions)
        for name, runtime in list(self.runtimes.items()):
            if not runtime.own or name in self._deleting or runtime.stopping is not None:
                continue
            if versions.get(name, 0) != runtime.content_version:
                log.info("world content changed; restarting", extra={"world": name})
                await self._stop_runtime(name, f"world {name} has new content", to_world=name)

    async def _stop_idle(self) -> None:
        now = time.monotonic()
        for name, runtime in list(self.runtimes.items()):
            if not runtime.own or name in self._deleting:
                continue
            if runtime.world.pilots or runtime.gateway.sessions:
                runtime.idle_since = None
            elif runtime.idle_since is None:
                runtime.idle_since = now
            elif now - runtime.idle_since > self.settings.world_idle_stop_s:
                await self._stop_runtime(name, "idle")
