"""The server's moderation service: footage of every active zone, reports, detectors, actions.

One `Moderation` per server process, started by `server/moderation_routes.py` on app start-up
(after the world and gateway exist). It never blocks the tick: recorders are a few list appends
per call, saving footage and running detectors go through the store writer thread or
`run_in_executor`, and detectors run on their own periodic task. What the world's players do
reaches it as events on the world's bus (moderation/feeds.py), never as calls from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from callister.moderation import admission
from callister.moderation.admission import Mutes, Refusal
from callister.moderation.detect import Finding, bots, economy, refusals
from callister.moderation.feeds import (
    DISTRESS,
    EVIDENCE,
    RECEIPT_REPLAYED,
    DistressCall,
    ReceiptReplayed,
    Suspicion,
)
from callister.moderation.footage import Footage, ZoneRecorder
from callister.moderation.ports import Gateway, Subscription, World
from callister.moderation.written import WrittenFlags
from callister.protocol.intents import Input
from callister.store import (
    Account,
    AuditEntry,
    Ban,
    CloneFilter,
    Flag,
    FootageRecord,
    Login,
    Report,
)

log = logging.getLogger(__name__)

ATTACH_EVERY_S = 0.25
ACTIONS = ("warn", "mute", "kick", "ban", "unban", "delete_clone", "watch", "unwatch")
CLOSE_KICK = 4001  # a moderator closed the socket (docs/protocol.md)
CLOSE_BANNED = 4403  # the account was banned (docs/protocol.md)
TXN_BATCH = 2000  # ledger rows read per query by the economic detectors
TXN_BATCHES = 10  # ...and at most this many queries per detector pass (the rest: next pass)


class ModerationError(Exception):
    """A moderation request that cannot be done (unknown target, bad argument)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Moderation:
    """One server's moderation (see the module docstring). `world` and `gateway` are the
    server's, seen through moderation/ports.py (moderation imports nothing of the server)."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world, self.gateway = world, gateway
        self.settings = world.settings
        self.recorders: dict[str, ZoneRecorder] = {}
        self.inputs = bots.InputLog()
        self.mutes = Mutes()  # shared with every world's gateway (server/world_host.py)
        # every gateway serving this server's players (one per world); the world host widens it
        self.gateways: Callable[[], Iterable[Gateway]] = lambda: (self.gateway,)
        self.chat: list[dict[str, Any]] = []  # the recent world messages we have (distress etc.)
        self.last_detect = 0.0
        self.written = WrittenFlags()  # what the detectors last wrote: write only changes
        self.tasks: list[asyncio.Task[Any]] = []
        self.transfers = economy.TransferLedger()  # fed from the ledger by each detector pass
        self._detecting = asyncio.Lock()  # the periodic pass and POST /api/mod/detect
        # zone -> (when, the save): reports of one moment share one footage copy
        self._report_footage: dict[str, tuple[float, asyncio.Future[int]]] = {}
        self._feeds: list[Subscription] = []

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Record, detect and hear the world's feeds until `stop`."""
        bus = self.world.bus
        self._feeds += [
            bus.subscribe(RECEIPT_REPLAYED, self.replayed),
            bus.subscribe(DISTRESS, self._on_distress),
        ]
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self._attach_loop(), name="footage attach"))
        self.tasks.append(loop.create_task(self._detect_loop(), name="detectors"))
        self.tasks.append(loop.create_task(self._restore_mutes(), name="restore mutes"))

    @property
    def muted(self) -> dict[int, float]:
        """Account -> until (Unix time) of the mutes this process knows."""
        return self.mutes.until

    async def _restore_mutes(self) -> None:
        """Mutes live in memory; the audit log has them too, so a restart does not lift one."""
        try:
            entries = await self.world.writer.call(
                self.world.store.moderation.list_audit, self.world.name, None, 1000
            )
        except Exception:
            log.exception("restoring mutes failed")
            return
        now = time.time()
        for entry in reversed(entries):  # oldest first: a later mute of the same account wins
            until = entry.detail.get("until")
            if entry.action != "mute" or not entry.target_account:
                continue
            if isinstance(until, int | float) and until > now:
                self.muted[entry.target_account] = float(until)

    async def stop(self) -> None:
        for feed in self._feeds:
            feed.unsubscribe()
        self._feeds.clear()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for rec in self.recorders.values():
            rec.detach()

    async def _attach_loop(self) -> None:
        watch_at = time.time()
        while True:
            self.attach()
            if time.time() - watch_at > self.settings.footage_window_s / 2:
                watch_at = time.time()
                await self._save_watched()
            await asyncio.sleep(ATTACH_EVERY_S)

    def attach(self) -> None:
        """Record every loaded zone (a new zone starts with a checkpoint); forget unloaded."""
        zones = self.world.zones
        for key, handle in zones.items():
            rec = self.recorders.get(key)
            if rec is None or rec.zone is not handle.zone:
                self.recorders[key] = self._recorder(key, handle)
        for key in [k for k in self.recorders if k not in zones]:
            self.recorders.pop(key).detach()

    def _recorder(self, key: str, handle: Any) -> ZoneRecorder:
        rec = ZoneRecorder(
            handle.zone,
            key,
            window_s=self.settings.footage_window_s,
            checkpoint_s=self.settings.footage_checkpoint_s,
            system=handle.system.to_dict(),
            on_submit=self._on_submit,
        )
        return rec

    def _on_submit(self, intent: Any) -> None:
        if type(intent) is Input and type(intent.actor) is int:
            self.inputs.record(intent.actor, time.time(), intent.thrust, intent.turn)

    # ------------------------------------------------------------------ footage
    def names(self) -> dict[int, str]:
        """Ship id -> pilot name of every pilot in the world."""
        return {p.character.ship_id: p.name for p in self.world.pilots.values()}

    async def save_footage(self, key: str, seconds: float | None, reason: str) -> int:
        rec = self.recorders.get(key)
        if rec is None:
            self.attach()
            rec = self.recorders.get(key)
        if rec is None:
            raise ModerationError(404, "NO_ZONE", f"no active zone {key!r}")
        footage = rec.save(seconds, names=self.names())
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, footage.encode)
        record = FootageRecord(
            self.world.name, key, footage.start_tick, footage.end_tick, time.time(), reason,
            len(data), data,
        )  # fmt: skip
        return await self.world.writer.call(self.world.store.moderation.save_footage, record)

    async def _save_watched(self) -> None:
        watched = await self.world.writer.call(
            self.world.store.moderation.list_watch, self.world.name
        )
        keys = set()
        for account in watched:
            pilot = self.world.pilots.get(account)
            if pilot is not None and pilot.zone_key is not None:
                keys.add((pilot.zone_key, account))
        for key, account in keys:
            try:
                await self.save_footage(key, None, f"watch:{account}")
            except Exception:
                log.exception("saving watched footage failed", extra={"zone": key})

    async def load_footage(self, footage_id: int) -> Footage:
        record = await self.world.writer.call(
            self.world.store.moderation.get_footage, self.world.name, footage_id
        )
        if record is None:
            raise ModerationError(404, "NOT_FOUND", f"no footage {footage_id}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, Footage.decode, record.data)

    # ------------------------------------------------------------------ reports
    def note(self, key: str | None, kind: str, **fields: Any) -> None:
        """A line for the chat/event log (and the zone's footage timeline)."""
        entry = {"at": time.time(), "kind": kind, "zone": key, **fields}
        self.chat.append(entry)
        del self.chat[:-500]
        rec = self.recorders.get(key) if key else None
        if rec is not None:
            rec.mark(kind, **fields)

    def _on_distress(self, call: DistressCall) -> None:
        self.note(call.zone, "distress", **{"from": call.caller})

    async def report(
        self, reporter_id: int, target_kind: str, target: str, reason: str, text: str
    ) -> dict[str, Any]:
        """File a report: save the footage around now and the chat log; into the queue."""
        world = self.world
        reporter = world.pilots.get(reporter_id)
        key = reporter.zone_key if reporter is not None else None
        target_account = self._target_account(target_kind, target)
        footage_id = None
        tick = 0
        if key is not None and key in world.zones:
            tick = world.zones[key].zone.tick
            self.note(key, "report", by=reporter.name if reporter else "", target=target)
            footage_id = await self._footage_for_report(key, reporter_id)
        since = time.time() - self.settings.report_footage_s
        chat = [c for c in self.chat if c["at"] >= since and c.get("zone") in (key, None)]
        report = Report(
            world.name, reporter_id, target_kind, target[:64], target_account, reason, text,
            time.time(), key or "", tick, footage_id, chat[-200:],
        )  # fmt: skip
        report_id = await world.writer.call(world.store.moderation.add_report, report)
        log.info("report filed", extra={"report": report_id, "reason": reason})
        return {"id": report_id, "footage": footage_id}

    async def _footage_for_report(self, key: str, reporter_id: int) -> int:
        """The footage id for a report from zone `key`. Reports from one zone within
        `report_footage_share_s` share one saved copy (also while it is being saved), so a
        burst of reports of one moment stores the footage once, not once per report."""
        now, share = time.monotonic(), self.settings.report_footage_share_s
        saves = self._report_footage
        for old in [k for k, (at, _) in saves.items() if now - at > share]:
            del saves[old]
        shared = saves.get(key)
        if shared is None:
            save = asyncio.ensure_future(
                self.save_footage(key, self.settings.report_footage_s, f"report by {reporter_id}")
            )
            shared = (now, save)
            if share > 0:
                saves[key] = shared
                save.add_done_callback(lambda done: self._forget_failed(key, done))
        return await asyncio.shield(shared[1])

    def _forget_failed(self, key: str, save: asyncio.Future[int]) -> None:
        """A failed save is not shared: the next report tries again."""
        if (save.cancelled() or save.exception() is not None) and (
            self._report_footage.get(key, (0.0, None))[1] is save
        ):
            del self._report_footage[key]

    def target_key(self, kind: str, target: str) -> str:
        """Who a report is against, as one key however it was named (a player's name, account
        id or ship id all give the account), for limiting reports per target."""
        account = self._target_account(kind, target)
        return f"account:{account}" if account is not None else f"{kind}:{target.lower()[:64]}"

    def _target_account(self, kind: str, target: str) -> int | None:
        if not target.isdigit():
            for pilot in self.world.pilots.values():  # a player's name
                if pilot.name.lower() == target.lower():
                    return pilot.account_id
            return None
        value = int(target)
        if kind == "ship":
            return self.world.ship_owner.get(value)
        if kind == "player":
            return value
        return None

    # ------------------------------------------------------------------ detectors
    async def _detect_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.moderation_detect_s)
            try:
                await self.detect()
            except Exception:
                log.exception("detectors failed")

    async def detect(self) -> list[Finding]:
        """Run every detector once and write the flags; returns the findings."""
        async with self._detecting:  # one pass at a time: the transfer ledger is stateful
            return await self._detect()

    async def _read_transfers(self, now: float) -> None:
        """Feed the transfer ledger with the transactions committed since the last pass (the
        first pass reads back one transfer window)."""
        ledger = self.transfers
        since = now - ledger.window_s
        for _ in range(TXN_BATCHES):
            rows = await self.world.writer.call(
                self.world.store.ledger.txns,
                self.world.name,
                economy.TRANSFER_KINDS,
                ledger.last_id,
                since,
                TXN_BATCH,
            )
            ledger.feed(rows, now)
            if len(rows) < TXN_BATCH:
                return

    def runs_global_detectors(self) -> bool:
        """Whether this process runs the detectors over the whole world's records (evidence,
        logins, the ledger, clones). Always in one process; in a cluster, one worker does
        (cluster/moderation.py), and every worker checks its own players' input timing."""
        return True

    async def _detect(self) -> list[Finding]:
        world, store = self.world, self.world.store
        now = time.time()
        whole = self.runs_global_detectors()
        evidence = (
            await world.writer.call(store.moderation.list_evidence, world.name, None, 5000)
            if whole
            else []
        )
        logins = (
            await world.writer.call(store.moderation.list_logins, world.name, None, 5000)
            if whole
            else []
        )
        sessions = list(self.inputs.sessions())  # taken on the loop, analysed off it
        if whole:
            await self._read_transfers(now)
        transfers = list(self.transfers.transfers)

        def analyse() -> list[Finding]:
            # pure computation over copies: on a worker thread, so a detector pass (hundreds
            # of sessions, thousands of evidence rows) never stalls the tick loop
            found: list[Finding] = []
            for account, session in sessions:
                bot = bots.detect(account, session)
                if bot is not None:
                    found.append(bot)
            if not whole:
                return found
            found += refusals.refusals(evidence, now)
            found += refusals.floods(evidence, now)
            links = economy.linked_accounts(logins)
            found += [group.finding() for group in links.groups]
            found += economy.linked_transfers(transfers, links)
            found += economy.duplicate_rids(economy.rid_variants(evidence))
            return found

        findings = await asyncio.get_running_loop().run_in_executor(None, analyse)
        if whole:
            findings += await self._clone_findings()
        changed = self.written.changed(findings, now)
        if changed:  # one transaction for the pass, and only what is new or different
            await world.writer.call(
                store.moderation.add_flags,
                [
                    Flag(world.name, f.detector, f.account_id, f.score, f.evidence, now, f.subject)
                    for f in changed
                ],
            )
        self.last_detect = now
        return findings

    async def _clone_findings(self) -> list[Finding]:
        """Unlicensed clones. Every database has the clones tables (the numbered migrations run
        when it opens), so a failure here is a fault: it fails the pass, which is logged."""
        rows = await self.world.writer.call(
            self.world.store.clones.find, CloneFilter(world=self.world.name, alive=True)
        )
        return [
            Finding(
                "unlicensed_clone",
                int(r.owner_id or r.subject_id or 0),
                1.0,
                {"clone": str(r.id), "name": r.name, "licence": r.licence},
                str(r.id),
            )
            for r in rows
            if r.licence == "unlicensed"
        ]

    # ------------------------------------------------------------------ admission
    async def admit(self, account: Account, address: str) -> Refusal | None:
        """Called by the gateway for each socket entering the world: records the login (for the
        linked-account check), then the one admission check (moderation/admission.py) again —
        a ban may have come between the hello and here (a cluster worker's attach)."""
        world = self.world
        now = time.time()
        await world.writer.call(
            world.store.moderation.record_login, Login(world.name, account.id, address, now)
        )
        return await world.writer.call(
            admission.refusal, world.store, world.name, account, address, now
        )

    def is_muted(self, account_id: int) -> bool:
        return self.mutes.is_muted(account_id)

    def mute_message(self, account_id: int) -> str:
        return self.mutes.message(account_id)

    # ------------------------------------------------------------------ economy
    def replayed(self, replay: ReceiptReplayed) -> None:
        """A request was answered from the ledger (its rid was used before). If it asked for
        something else than the first time, that is an attempt to make one idempotency key
        do two things: evidence DUPLICATE_RID, which the economy detector flags."""
        sent = economy.request_fields(replay.asked)
        if sent is None:
            return  # all the request asked for is in its idempotency key
        receipt = replay.receipt
        differs = economy.replay_differs(sent, receipt.detail)
        if not differs:
            return  # an honest retry
        self.world.bus.publish(
            EVIDENCE,
            Suspicion(
                replay.account,
                economy.DUPLICATE_RID,
                receipt.kind,
                {"rid": receipt.rid, "kind": receipt.kind, "sent": sent, "first": differs},
            ),
        )
        log.info("replayed rid with other contents", extra={"account": replay.account})

    # ------------------------------------------------------------------ actions
    async def act(self, moderator_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Do one moderator action (see ACTIONS); every one is written to the audit log."""
        world, store = self.world, self.world.store
        action = body.get("action")
        if action not in ACTIONS:
            raise ModerationError(400, "BAD_FIELD", f"action must be one of {', '.join(ACTIONS)}")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
            raise ModerationError(400, "BAD_FIELD", "a reason (1-1000 characters) is required")
        account_id = body.get("account")
        if action != "delete_clone" or account_id is not None:
            if isinstance(account_id, bool) or not isinstance(account_id, int):
                raise ModerationError(400, "BAD_FIELD", "'account' must be an account id")
            target_account = await world.writer.call(store.accounts.get, account_id)
            if target_account is None:
                raise ModerationError(404, "NOT_FOUND", f"no account {account_id}")
            if action != "delete_clone":  # a clone is judged on its licence, not its owner
                await self._check_rank(moderator_id, target_account)
        hours = body.get("hours")
        if hours is not None and (
            isinstance(hours, bool)
            or not isinstance(hours, int | float)
            or not 0 < hours <= 24 * 3650
        ):
            raise ModerationError(400, "BAD_FIELD", "'hours' must be a positive number")
        detail: dict[str, Any] = {}
        now = time.time()
        target = int(account_id) if isinstance(account_id, int) else 0
        if action == "warn":
            for gateway in self.gateways():  # in whichever world the player is
                gateway.world.notices.notify(target, "event", kind="warning", text=reason)
        elif action == "mute":
            mute_until = now + 3600.0 * float(hours or 1)
            self.mutes.mute(target, mute_until)
            detail["until"] = mute_until
        elif action == "kick":
            detail["closed"] = await self.disconnect(target, CLOSE_KICK, "kicked: " + reason)
        elif action == "ban":
            until: float | None = None if hours is None else now + 3600.0 * float(hours)
            ban_id = await world.writer.call(
                store.moderation.add_ban,
                Ban(world.name, "account", str(account_id), until, reason, moderator_id, now),
            )
            detail.update(ban=ban_id, until=until)
            address = body.get("address")
            if address is not None:
                if not isinstance(address, str) or not 0 < len(address) <= 200:
                    raise ModerationError(400, "BAD_FIELD", "'address' must be an address")
                detail["address_ban"] = await world.writer.call(
                    store.moderation.add_ban,
                    Ban(world.name, "address", address, until, reason, moderator_id, now),
                )
            detail["closed"] = await self.disconnect(target, CLOSE_BANNED, "banned")
        elif action == "unban":
            lifted = 0
            for ban in await world.writer.call(
                store.moderation.bans_on, world.name, target, None, now
            ):
                lifted += bool(
                    await world.writer.call(store.moderation.lift_ban, world.name, ban.id)
                )
            detail["lifted"] = lifted
        elif action == "delete_clone":
            clone = body.get("clone")
            if isinstance(clone, bool) or not isinstance(clone, int):
                raise ModerationError(400, "BAD_FIELD", "'clone' must be a clone id")
            if not await world.writer.call(store.clones.purge, clone):
                raise ModerationError(404, "NOT_FOUND", f"no clone {clone}")
            detail["clone"] = clone
        elif action in ("watch", "unwatch"):
            await world.writer.call(
                store.moderation.set_watch,
                world.name,
                account_id,
                action == "watch",
                moderator_id,
                reason,
            )
        audit = AuditEntry(world.name, moderator_id, action, account_id, reason, now, detail)
        detail["audit"] = await world.writer.call(store.moderation.add_audit, audit)
        log.info("moderator action", extra={"action": action, "moderator": moderator_id})
        return {"action": action, "account": account_id, **detail}

    async def _check_rank(self, moderator_id: int, target: Account) -> None:
        """Staff act only on accounts of a strictly lower role (player < moderator < admin)."""
        actor = await self.world.writer.call(self.world.store.accounts.get, moderator_id)
        actor_role = actor.role if actor is not None else "player"
        if not admission.may_act_on(actor_role, target.role):
            raise ModerationError(
                403,
                "OUTRANKED",
                f"account {target.id} is a {target.role}; a {actor_role} may act only on "
                "accounts of a lower role (ask an administrator)",
            )

    async def disconnect(self, account_id: int, code: int, reason: str) -> bool:
        """Close the account's sockets (if connected) in every world with `code`; True if there
        was one."""
        closed = False
        for gateway in list(self.gateways()):
            closed = await gateway.disconnect(account_id, code, reason) or closed
        return closed

    async def act_audit(
        self, moderator_id: int, action: str, account_id: int | None, detail: dict[str, Any]
    ) -> int:
        """Write an audit entry for a moderator's request that is not an `act` (e.g. saving
        footage on demand)."""
        entry = AuditEntry(
            self.world.name, moderator_id, action, account_id, action, time.time(), detail
        )
        return await self.world.writer.call(self.world.store.moderation.add_audit, entry)
