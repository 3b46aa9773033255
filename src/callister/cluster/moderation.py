"""Moderation in a cluster: the single-process `Moderation` service, split where its state is.

- **Workers** (`WorkerModeration`) record footage of their zones, take their players' reports,
  admit sessions (bans, logins), refuse muted chat, and check their players' input timing for
  bots. One of them (the live worker with the lowest name) also runs the detectors that read the
  whole world's records (evidence, logins, the ledger, clones), so a flag is raised once.
- **Gateways** (`GatewayModeration`) serve the moderator console's API (server/moderation_routes.py,
  unchanged): queues, footage and the inspector straight from PostgreSQL; footage on demand from
  the zone's owner; actions through any worker, whose effects (close a socket, mute, warn) every
  worker applies to the sessions it serves.

Subjects: ``cl.mod.act`` (queue group: one worker does an action's database part),
``cl.mod.effect`` (every worker: apply an effect, answer what it did), ``cl.mod.detect`` (every
worker: run the detectors, answer the findings), ``cl.mod.footage.<zone>`` (the zone's owner:
save footage of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from typing import Any

import nats.errors

from callister.cluster.remote import scatter
from callister.cluster.subjects import MOD_ACT, MOD_DETECT, MOD_EFFECT, footage_subject
from callister.moderation.detect import Finding
from callister.moderation.service import Moderation, ModerationError
from callister.server.moderation_routes import ROLES as MODERATOR_ROLES

log = logging.getLogger(__name__)

MOD_QUEUE = "moderation"


def _dump(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


class WorkerModeration(Moderation):
    """A worker's moderation: its zones and sessions; effects shared over NATS."""

    def __init__(self, world: Any, gateway: Any, worker: Any) -> None:
        super().__init__(world, gateway)
        self.worker = worker

    def runs_global_detectors(self) -> bool:
        return bool(self.worker.is_coordinator())

    async def disconnect(self, account_id: int, code: int, reason: str) -> bool:
        """The account's socket may be served by any worker: every worker closes it if it has
        it; True if one did."""
        answers = await self.worker.scatter(
            MOD_EFFECT,
            {"kind": "disconnect", "account": account_id, "code": code, "reason": reason},
        )
        return any(bool(a.get("closed")) for a in answers)

    async def act(self, moderator_id: int, body: dict[str, Any]) -> dict[str, Any]:
        result = await super().act(moderator_id, body)
        account = result.get("account")
        if result["action"] == "mute":
            await self.worker.scatter(
                MOD_EFFECT, {"kind": "mute", "account": account, "until": result["until"]}
            )
        elif result["action"] == "warn":
            await self.worker.scatter(
                MOD_EFFECT,
                {"kind": "warn", "account": account, "text": body.get("reason", "")},
                skip_self=True,  # warned here already by Moderation.act
            )
        return result

    async def apply_effect(self, effect: dict[str, Any]) -> dict[str, Any]:
        kind, account = effect.get("kind"), int(effect.get("account") or 0)
        if kind == "disconnect":
            closed = await self.gateway.disconnect(
                account, int(effect.get("code", 4403)), str(effect.get("reason", ""))
            )
            return {"closed": closed}
        if kind == "mute":
            self.muted[account] = float(effect["until"])
            return {"muted": True}
        if kind == "warn":
            self.world.notices.notify(account, "event", kind="warning", text=str(effect["text"]))
            return {"warned": account in self.gateway.sessions}
        return {"error": f"unknown effect {kind!r}"}

    # ---------------------------------------------------------------- request handlers
    async def on_act(self, msg: Any) -> None:
        """A moderator's action from a gateway (only gateways may publish ``cl.mod.act``: NATS
        refuses anyone else). The moderator's id is the gateway's claim: the account is read
        again from the database and must hold a moderator role now, and it is that account
        the audit records."""
        try:
            req = json.loads(msg.data)
            claimed, body = req["moderator"], req["body"]
            if isinstance(claimed, bool) or not isinstance(claimed, int):
                raise TypeError("moderator must be an account id")
            if not isinstance(body, dict):
                raise TypeError("body must be an object")
        except (ValueError, KeyError, TypeError):
            await _respond(msg, {"ok": False, "status": 400, "code": "BAD_FIELD",
                                 "message": "bad moderation request"})  # fmt: skip
            return
        store = self.world.store
        moderator = await self.world.writer.call(store.accounts.get, claimed)
        if moderator is None or moderator.banned or moderator.role not in MODERATOR_ROLES:
            log.warning("moderator action refused: not a moderator", extra={"account": claimed})
            await _respond(msg, {"ok": False, "status": 403, "code": "FORBIDDEN",
                                 "message": f"account {claimed} is not a moderator"})  # fmt: skip
            return
        try:
            result = await self.act(moderator.id, body)
        except ModerationError as exc:
            await _respond(msg, {"ok": False, "status": exc.status, "code": exc.code,
                                 "message": exc.message})  # fmt: skip
            return
        except Exception as exc:
            log.exception("moderator action failed")
            await _respond(msg, {"ok": False, "status": 500, "code": "INTERNAL",
                                 "message": f"the action failed: {exc!r}"})  # fmt: skip
            return
        await _respond(msg, {"ok": True, "result": result})

    async def on_effect(self, msg: Any) -> None:
        try:
            effect = json.loads(msg.data)
            if not isinstance(effect, dict):
                raise TypeError("an effect is an object")
            if effect.get("skip") == self.worker.name:
                return
            answer = await self.apply_effect(effect)
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"error": f"bad effect: {exc!r}"}
        await _respond(msg, {"worker": self.worker.name, **answer})

    async def on_detect(self, msg: Any) -> None:
        try:
            findings = await self.detect()
        except Exception as exc:
            log.exception("detectors failed")
            await _respond(msg, {"worker": self.worker.name, "error": repr(exc), "findings": []})
            return
        await _respond(
            msg,
            {"worker": self.worker.name, "findings": [dataclasses.asdict(f) for f in findings]},
        )

    async def on_footage(self, msg: Any) -> None:
        zone = msg.subject[len(footage_subject("")) :]
        try:
            req = json.loads(msg.data or b"{}")
            seconds = req.get("seconds")
            reason = str(req.get("reason") or "moderator")
            footage_id = await self.save_footage(zone, seconds, reason)
        except ModerationError as exc:
            await _respond(msg, {"ok": False, "status": exc.status, "code": exc.code,
                                 "message": exc.message})  # fmt: skip
            return
        except (ValueError, TypeError, AttributeError) as exc:
            await _respond(msg, {"ok": False, "status": 400, "code": "BAD_FIELD",
                                 "message": f"bad footage request: {exc}"})  # fmt: skip
            return
        await _respond(msg, {"ok": True, "id": footage_id})


async def _respond(msg: Any, value: dict[str, Any]) -> None:
    if msg.reply:
        with contextlib.suppress(nats.errors.Error):
            await msg.respond(_dump(value))


class _ZonesView(dict[str, None]):
    """The zones being recorded cluster-wide (the console's zone list), from heartbeats."""


class GatewayModeration(Moderation):
    """The console's service on a gateway: reads from the database, asks workers for the rest.

    `world` is the gateway's view (name, settings, store, writer); `gateway` the EdgeGateway.
    """

    def __init__(self, world: Any, gateway: Any) -> None:
        self._stopping = False
        super().__init__(world, gateway)
        self.edge = gateway

    @property
    def recorders(self) -> dict[str, Any]:
        zones = _ZonesView()
        if self._stopping:
            return zones
        for worker in self.edge.directory.alive():
            for zone in worker.zones:
                zones[zone] = None
        return zones

    @recorders.setter
    def recorders(self, value: dict[str, Any]) -> None:
        pass  # the workers record; Moderation.__init__ sets an empty dict here

    def start(self) -> None:
        # only the mutes (for the inspector): recording and detecting are the workers'
        self.tasks.append(asyncio.get_running_loop().create_task(self._restore_mutes()))

    async def stop(self) -> None:
        """`Moderation.stop` with nothing to detach: the zones listed in `recorders` are the
        workers' (their values None), so stopping a gateway's console failed on them."""
        self._stopping = True
        await super().stop()

    async def _ask(self, subject: str, value: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            answer = json.loads(
                await self.edge.bus.request(subject, _dump(value), timeout)  # NatsBus.request
            )
        except nats.errors.NoRespondersError:
            raise ModerationError(503, "UNAVAILABLE", "no worker is running") from None
        except (TimeoutError, nats.errors.Error) as exc:
            raise ModerationError(504, "TIMEOUT", f"no answer from the workers: {exc!r}") from None
        if not isinstance(answer, dict):
            raise ModerationError(502, "INTERNAL", "a worker answered nonsense")
        return answer

    async def act(self, moderator_id: int, body: dict[str, Any]) -> dict[str, Any]:
        answer = await self._ask(MOD_ACT, {"moderator": moderator_id, "body": body}, 30.0)
        if not answer.get("ok"):
            raise ModerationError(
                int(answer.get("status", 500)),
                str(answer.get("code", "INTERNAL")),
                str(answer.get("message", "the action failed")),
            )
        result: dict[str, Any] = answer["result"]
        if result.get("action") == "mute" and isinstance(result.get("account"), int):
            self.muted[result["account"]] = float(result["until"])
        return result

    async def save_footage(self, key: str, seconds: float | None, reason: str) -> int:
        try:
            answer = await self._ask(
                footage_subject(key), {"seconds": seconds, "reason": reason}, 30.0
            )
        except ModerationError as exc:
            if exc.code == "UNAVAILABLE":
                raise ModerationError(
                    404, "NOT_FOUND", f"no worker is simulating {key}; nothing to record"
                ) from None
            raise
        if not answer.get("ok"):
            raise ModerationError(
                int(answer.get("status", 500)),
                str(answer.get("code", "INTERNAL")),
                str(answer.get("message", "saving footage failed")),
            )
        return int(answer["id"])

    async def detect(self) -> list[Finding]:
        workers = len(self.edge.directory.alive())
        answers = await scatter(
            self.edge.nc, MOD_DETECT, b"{}", expect=max(1, workers), timeout=30.0
        )
        findings: list[Finding] = []
        for raw in answers:
            try:
                for f in json.loads(raw).get("findings", []):
                    findings.append(Finding(**f))
            except (ValueError, TypeError, AttributeError):
                log.warning("a worker's findings could not be read")
        return findings
