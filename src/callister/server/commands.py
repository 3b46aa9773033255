"""What a client's message means: the one path from a decoded message to what it does.

`Commands.handle(sender, message)` takes one decoded `ClientMessage` from an authenticated
socket and returns an `Effect`, which the gateway (server/gateway.py) carries out:

- None: nothing to send now. An intent went to the sender's zone on the bus (the zone answers
  in its tick: `Refused`, `Docked` ...), or a desk acted and answers on the account's subject
  (crew orders and chat, shared-ship invitations).
- `str`: JSON text for the sender, now (a pong, an error, a refusal).
- `Request`: work that waits on the database or a desk (a trade, a purchase, a hire, a report,
  the market screen). The gateway runs it beside the socket's read loop, cancelled if the
  socket closes, and writes the `Answer` it yields (a receipt, or an error naming the `rid`).
- `Acked`, `Targeted`, `Camera`: a change to what the socket is shown (the base of snapshot
  deltas, the status's target, a spectator's camera), which the gateway's fan-out makes.

Commands never touch a socket or a session: refusals are returned as error text, never raised.
What moderation should know is published on the world's bus, never called
(moderation/feeds.py): a message naming another's ship (evidence), an economy refusal, a
receipt replayed for a request id used before, a distress call.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from callister.economy import EconomyError, Receipt
from callister.moderation.admission import Mutes
from callister.moderation.feeds import (
    DISTRESS,
    EVIDENCE,
    RECEIPT_REPLAYED,
    REQUEST_REFUSED,
    DistressCall,
    ReceiptReplayed,
    RequestRefused,
    Suspicion,
)
from callister.moderation.service import Moderation
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.gm import GmMsg
from callister.protocol.intents import Dock, Fire, Input, Intent, Jump, Loot, Mine, Power, Undock
from callister.protocol.limits import PROTOCOL_VERSION
from callister.protocol.messages import (
    AbandonMsg,
    AcceptMsg,
    AckMsg,
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    ClientMessage,
    CrewChatMsg,
    CrewOrderMsg,
    DismissMsg,
    DistressMsg,
    DockMsg,
    FireMsg,
    HailMsg,
    Hello,
    HireMsg,
    InputMsg,
    JumpMsg,
    LootMsg,
    MarketMsg,
    MineMsg,
    MissionMessage,
    MissionsMsg,
    PartyMessage,
    PingMsg,
    PowerMsg,
    RationMsg,
    RecallMsg,
    ReportMsg,
    RescueMsg,
    ServiceMsg,
    ShareMessage,
    SpectateMsg,
    StationMessage,
    TargetMsg,
    TradeMsg,
    TravelMessage,
    TutorialMsg,
    UndockMsg,
    encode_server,
    error_message,
)
from callister.server.auth import Throttle
from callister.server.bus import Bus
from callister.server.content_view import client_content, welcome_content
from callister.server.metrics import Metrics
from callister.server.settings import Settings
from callister.server.world import Pilot, World
from callister.store import Account

log = logging.getLogger(__name__)


def sector_str(xy: tuple[int, int]) -> list[str]:
    """Sector coordinates as the wire has them: decimal strings (they may exceed 2**53)."""
    return [str(xy[0]), str(xy[1])]


class Sender(Protocol):
    """What a command knows of the socket it came from (server/session.py's `Session`)."""

    account: Account
    pilot: Pilot | None  # None for a spectator
    ship_id: int  # the ship the socket commands: its own, or the one it is aboard
    spectator: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """What a `Request` yields: JSON text for the sender; `status_changed` when credits or
    cargo changed (the next status message is sent whole)."""

    text: str
    status_changed: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    """Work that waits on the database or a desk. It yields the `Answer` to write, or None
    when the desk answers by other means (a `crew` message on the account's subject)."""

    work: Awaitable[Answer | None]


@dataclass(frozen=True, slots=True)
class Acked:
    """The client has the snapshot numbered `seq`: later deltas are based on it."""

    seq: int


@dataclass(frozen=True, slots=True)
class Targeted:
    """The ship status reports on entity `target` now (0: none)."""

    target: int


@dataclass(frozen=True, slots=True)
class Camera:
    """A spectator's camera: into zone `key` (None: stay), following entity `follow` (None:
    unchanged, 0: nobody), at point `at` (None: unchanged; a point stops following)."""

    key: str | None
    follow: int | None
    at: tuple[float, float] | None


Effect = str | Request | Acked | Targeted | Camera | None


class Commands:
    """The meaning of every client message, for one world's sockets."""

    def __init__(
        self,
        world: World,
        bus: Bus,
        settings: Settings,
        metrics: Metrics,
        *,
        moderation: Moderation | None = None,
        mutes: Mutes | None = None,
    ) -> None:
        self.world, self.bus, self.settings, self.metrics = world, bus, settings, metrics
        self.moderation = moderation  # reports (None: this server takes none)
        self.mutes = mutes  # muted accounts may not chat (None: nobody is muted)
        # reports and distress calls have limits of their own: each costs the moderators (a
        # queue entry, footage) or everyone in a system far more than a message does
        self.report_throttle = Throttle(settings.reports_per_minute)
        self.report_target_throttle = Throttle(settings.reports_per_target_minute)
        self.distress_at: dict[int, float] = {}  # account -> when its last call went out

    # ------------------------------------------------------------------ welcomes
    def welcome(
        self,
        account: Account,
        pilot: Pilot,
        worlds: list[dict[str, Any]],
        version: int = PROTOCOL_VERSION,
    ) -> str:
        """The answer to a player's hello: the protocol `version` spoken on the socket, the
        account, its ship and home, the world and its rates, the weapons (to pace fire) and
        the `worlds` the account may enter."""
        c = pilot.character
        home = sector_str((c.home_x, c.home_y))
        return self._welcome(
            account,
            worlds,
            {"ship": c.ship_id, "hull": c.hull},
            {"home": home, "home_station": c.home_station, "credits": pilot.credits},
            version,
        )

    def spectator_welcome(
        self, account: Account, worlds: list[dict[str, Any]], version: int = PROTOCOL_VERSION
    ) -> str:
        """The answer to a spectator's hello: as a player's, with no ship (`spectate`)."""
        return self._welcome(account, worlds, {"ship": 0, "spectate": True}, {}, version)

    def _welcome(
        self,
        account: Account,
        worlds: list[dict[str, Any]],
        ship: dict[str, Any],
        home: dict[str, Any],
        version: int,
    ) -> str:
        settings = self.settings
        return encode_server(
            "welcome",
            v=version,
            account=account.id,
            name=account.name,
            role=account.role,
            **ship,
            world=self.world.name,
            seed=str(self.world.seed),
            tick_hz=settings.tick_hz,
            snapshot_hz=settings.snapshot_hz,
            aoi_radius=settings.aoi_radius,
            **home,
            content=self._content_summary(),
            worlds=worlds,
        )

    def _content_summary(self) -> dict[str, Any]:
        """What the client needs of the world's content at once (server/content_view.py):
        weapons to pace and aim its own fire (the arc: a client firing every weapon skips
        those that cannot bear), each hull's look, the content's digest."""
        return welcome_content(self.world.content)

    def content_message(self) -> str:
        """The `content` message sent after the welcome: the world's hulls, weapons,
        commodities, ores and factions with every field (server/content_view.py)."""
        return encode_server("content", world=self.world.name, **client_content(self.world.content))

    # ------------------------------------------------------------------ one message
    def handle(self, sender: Sender, message: ClientMessage) -> Effect:
        """What `message` from `sender` does; a refusal is an error text for the sender."""
        try:
            return self._dispatch(sender, message)
        except ProtocolError as exc:
            self.metrics.inc("callister_protocol_errors_total")
            return error_message(exc.code, exc.message)

    def entered(self, pilot: Pilot) -> Request:
        """What a player hears after the welcome: their crew (a `crew` message), then their
        objectives (the tutorial, contracts, standing: an `objectives` message)."""
        return Request(self._entered(pilot))

    async def _entered(self, pilot: Pilot) -> Answer | None:
        answer = await self._answer(
            pilot.account_id, None, self.world.agents.crews.send_crew(pilot)
        )
        try:
            await self.world.missions.entered(pilot)
        except Exception:
            log.exception("missions failed to load", extra={"account": pilot.account_id})
        return answer

    def _dispatch(self, sender: Sender, message: ClientMessage) -> Effect:
        if type(message) is InputMsg and not sender.spectator:
            # held controls, most of what a crowd sends (every client, several a second):
            # straight to their zone when they steer the sender's own ship; anything else
            # (another's ship: refused and reported) takes the full path below
            pilot = sender.pilot
            if pilot is not None and message.ship == sender.ship_id:
                if not pilot.dead:  # (a destroyed ship, or between systems: nothing to steer)
                    zone = self.world.shipshare.zone_for(pilot)
                    if zone is not None:
                        self.world.submit(zone, self._intent(sender.account.id, message))
                return None
        if isinstance(message, AckMsg):
            return Acked(message.seq)
        if isinstance(message, PingMsg):
            return encode_server("pong", n=message.n, tick=self.world.tick)
        if isinstance(message, Hello):
            raise ProtocolError(ErrorCode.BAD_FIELD, "already authenticated")
        if isinstance(message, GmMsg):  # game masters (issue 18): spectating or flying
            return Request(self._gm(sender.account.id, message))
        if sender.spectator or isinstance(message, SpectateMsg):
            return self._spectator_message(sender, message)
        account = sender.account.id
        if isinstance(message, ReportMsg):
            return self._report(account, message)
        pilot = sender.pilot
        assert pilot is not None
        if (
            isinstance(message, CrewChatMsg | HailMsg)
            and self.mutes is not None
            and self.mutes.is_muted(account)
        ):  # refused before any desk sees it: nothing is delivered, stored or remembered
            raise ProtocolError(ErrorCode.MUTED, self.mutes.message(account))
        if isinstance(message, BountyMsg):
            work = self.world.stations.bounty(pilot, message)
            return Request(self._answer(account, message.rid, work, message))
        if isinstance(message, PartyMessage):  # parties (issue 16): about the sender
            party = self.world.parties.handle(pilot, message)
            return None if party is None else Request(self._answer(account, None, party))
        if isinstance(message, ShareMessage):
            shared = self.world.shipshare.handle(pilot, message)  # shared ships (issue 8)
            return None if shared is None else Request(self._answer(account, None, shared))
        if message.ship != sender.ship_id:
            self.bus.publish(
                EVIDENCE,
                Suspicion(
                    account,
                    str(ErrorCode.NOT_YOUR_SHIP),
                    type(message).__name__.removesuffix("Msg").lower(),
                    # "gateway": refused before any zone saw it (the zone's say "zone")
                    {"ship": message.ship, "own_ship": sender.ship_id, "source": "gateway"},
                ),
            )
            raise ProtocolError(ErrorCode.NOT_YOUR_SHIP, f"ship {message.ship} is not yours")
        if pilot.dead:
            if isinstance(message, InputMsg):
                return None
            raise ProtocolError(ErrorCode.DESTROYED, "your ship was destroyed; respawning")
        # the world's view, not the session's: it changes the moment a ship leaves on a jump
        # (aboard another's ship: that ship's zone)
        zone = self.world.shipshare.zone_for(pilot)
        if zone is None:
            if isinstance(message, InputMsg):
                return None  # held controls during the instant of a jump: nothing to steer yet
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        self.world.shipshare.check_member(pilot, message)
        if isinstance(message, CrewChatMsg) and self.world.shipshare.chat(
            pilot, message.crew, message.text
        ):
            return None
        if isinstance(message, HailMsg):  # talk to an NPC: it answers in `chat` (npcs.py)
            self.world.agents.hail(pilot, zone, message.ship, message.target, message.text)
            return None
        if isinstance(message, TargetMsg):
            return Targeted(message.target)
        if isinstance(message, DistressMsg):
            return self._distress(account, pilot, zone)
        if isinstance(message, MarketMsg):
            return Request(self._answer(account, None, self._market(pilot)))
        if isinstance(message, TradeMsg | ServiceMsg | BuyHullMsg | BuyModuleMsg):
            work = self.world.stations.request(pilot, message)
            return Request(self._answer(account, message.rid, work, message))
        if isinstance(message, HireMsg | DismissMsg | CrewOrderMsg | CrewChatMsg):
            return self._crew(account, pilot, message)
        if isinstance(message, MissionMessage):
            return Request(self._mission(pilot, message))
        if zone in self.world.frozen:  # a game master froze the system (server/gm.py)
            if isinstance(message, InputMsg):
                return None  # held controls: nothing moves, as between systems
            raise ProtocolError(
                ErrorCode.FROZEN,
                "a game master froze this system: nothing moves until it is unfrozen",
            )
        self.world.submit(zone, self._intent(account, message))
        return None

    @staticmethod
    def _intent(
        actor: int,
        message: InputMsg
        | DockMsg
        | UndockMsg
        | JumpMsg
        | FireMsg
        | MineMsg
        | LootMsg
        | PowerMsg
        | TravelMessage,
    ) -> Intent:
        """The zone's intent for a message about the sender's own ship."""
        if isinstance(message, InputMsg):
            return Input(actor, message.ship, message.thrust, message.turn, message.brake)
        if isinstance(message, DockMsg):
            return Dock(actor, message.ship, message.station)
        if isinstance(message, UndockMsg):
            return Undock(actor, message.ship)
        if isinstance(message, JumpMsg):
            return Jump(actor, message.ship, message.to_x, message.to_y)
        if isinstance(message, FireMsg):
            return Fire(actor, message.ship, message.slot, message.target)
        if isinstance(message, MineMsg):
            return Mine(actor, message.ship, message.rock)
        if isinstance(message, LootMsg):
            return Loot(actor, message.ship, message.wreck)
        if isinstance(message, PowerMsg):
            return Power(actor, message.ship, message.engines, message.weapons, message.shields)
        if isinstance(message, TravelMessage):  # autopilot, cruise (issue 16)
            return message.intent(actor)
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "unhandled message")  # pragma: no cover

    # ------------------------------------------------------------------ requests
    async def _answer(
        self,
        account: int,
        rid: str | None,
        work: Awaitable[object],
        asked: StationMessage | BountyMsg | None = None,
    ) -> Answer | None:
        """Await a request's work; its receipt, or the error naming `rid`. `asked`: what the
        request asked for (a replayed receipt is published with it, for moderation)."""
        try:
            result = await work
        except ProtocolError as exc:
            return Answer(error_message(exc.code, exc.message, ref=rid))
        except EconomyError as exc:
            self.bus.publish(REQUEST_REFUSED, RequestRefused(account, rid, exc.code, exc.message))
            return Answer(error_message(exc.code, exc.message, ref=rid))
        except Exception:
            log.exception("station request failed", extra={"account": account})
            return Answer(
                error_message(ErrorCode.INTERNAL, "the request failed; retry it", ref=rid)
            )
        if isinstance(result, Answer):
            return result
        if not isinstance(result, Receipt):
            return None  # the desk answered on the account's subject
        if result.replay and asked is not None:
            # the same rid again: answered idempotently; moderation compares the contents
            self.bus.publish(RECEIPT_REPLAYED, ReceiptReplayed(account, result, asked))
        self.metrics.inc("callister_transactions_total")
        return Answer(
            encode_server(
                "receipt",
                rid=result.rid,
                ok=True,
                kind=result.kind,
                txn=result.txn,
                credits=result.credits,
                cargo=result.cargo,
                detail=result.detail,
                replay=result.replay,
            ),
            status_changed=True,  # credits/cargo changed: resend the status
        )

    async def _mission(self, pilot: Pilot, message: MissionMessage) -> Answer | None:
        """Missions (issue 16): the mission desk answers; a refusal is an error whose `ref`
        is the request's `rid`, or else the message type."""
        desk = self.world.missions
        ref = message.rid if isinstance(message, RecallMsg | RationMsg) else None
        try:
            answer: dict[str, Any] | None = None
            if isinstance(message, MissionsMsg):
                answer = await desk.board(pilot)
            elif isinstance(message, AcceptMsg):
                await desk.accept(pilot, message.contract)
            elif isinstance(message, AbandonMsg):
                await desk.abandon(pilot, message.contract)
            elif isinstance(message, TutorialMsg):
                await desk.tutorial(pilot, message.op)
            elif isinstance(message, RescueMsg):
                answer = await desk.rescue(pilot, message.op, message.kind)
            elif isinstance(message, RecallMsg):
                answer = await desk.recall(pilot, message.rid, message.confirm)
            else:
                answer = await desk.ration(pilot, message.rid)
        except ProtocolError as exc:
            kind = type(message).__name__.removesuffix("Msg").lower()
            return Answer(error_message(exc.code, exc.message, ref=ref or kind))
        except Exception:
            log.exception("mission request failed", extra={"account": pilot.account_id})
            return Answer(
                error_message(ErrorCode.INTERNAL, "the request failed; retry it", ref=ref)
            )
        if answer is None:
            return None
        fields = dict(answer)
        return Answer(encode_server(str(fields.pop("t")), **fields), status_changed=True)

    async def _market(self, pilot: Pilot) -> Answer:
        return Answer(encode_server("market", **await self.world.stations.market(pilot)))

    def _crew(
        self, account: int, pilot: Pilot, message: HireMsg | DismissMsg | CrewOrderMsg | CrewChatMsg
    ) -> Effect:
        """Crew messages go to the world's crew desk (server/crew.py); answers come back as
        `crew` and `chat` messages on the account's subject, a hire also as a `receipt`."""
        crews = self.world.agents.crews
        if isinstance(message, CrewOrderMsg):
            crews.order(pilot, message.crew, message.order, message.target)
            return None
        if isinstance(message, CrewChatMsg):
            crews.chat(pilot, message.crew, message.text)
            return None
        if isinstance(message, DismissMsg):
            return Request(self._answer(account, None, crews.dismiss(pilot, message.crew)))
        return Request(self._answer(account, message.rid, self._hire(pilot, message)))

    async def _hire(self, pilot: Pilot, message: HireMsg) -> Answer:
        done = await self.world.agents.crews.hire(pilot, message.rid, message.candidate)
        return Answer(
            encode_server(
                "receipt",
                rid=message.rid,
                ok=True,
                kind="hire",
                txn=done["txn"],
                credits=done["credits"],
                cargo=pilot.cargo,
                detail={"clone": done["clone"], "price": done["price"]},
                replay=done["replay"],
            ),
            status_changed=True,  # credits changed
        )

    # ------------------------------------------------------------------ game masters
    async def _gm(self, account: int, message: GmMsg) -> Answer:
        """A game master's command (server/gm.py): answered `gm` with what was done, or an
        error with `ref` "gm"."""
        try:
            done = await self.world.gm.run(account, message)
        except ProtocolError as exc:
            return Answer(error_message(exc.code, exc.message, ref="gm"))
        except Exception:
            log.exception("gm command failed", extra={"account": account, "op": message.op})
            return Answer(error_message(ErrorCode.INTERNAL, "the command failed", ref="gm"))
        return Answer(encode_server("gm", **done), status_changed=True)

    # ------------------------------------------------------------------ reports
    def _report(self, account: int, message: ReportMsg) -> Effect:
        """A player reports a player, ship or clone: moderation saves footage and queues it.
        Refused with RATE_LIMITED beyond the reporter's or the target's limit per minute."""
        if self.moderation is None:
            raise ProtocolError(ErrorCode.INTERNAL, "reports are not available on this server")
        moderation = self.moderation
        refusal = self._limit_report(
            account, moderation.target_key(message.kind, message.target), message
        )
        if refusal is not None:
            self.metrics.inc("callister_reports_refused_total")
            return error_message(ErrorCode.RATE_LIMITED, refusal, ref="report")
        return Request(self._file_report(moderation, account, message))

    async def _file_report(
        self, moderation: Moderation, account: int, message: ReportMsg
    ) -> Answer:
        try:
            out = await moderation.report(
                account, message.kind, message.target, message.reason, message.text
            )
        except Exception:
            log.exception("report failed", extra={"account": account})
            return Answer(error_message(ErrorCode.INTERNAL, "the report failed; retry"))
        return Answer(encode_server("reported", id=out["id"], footage=out["footage"]))

    def _limit_report(self, reporter: int, target_key: str, message: ReportMsg) -> str | None:
        """Count a report against its reporter and its target; if either is at its limit,
        count nothing and return why (the error message)."""
        mine = self.report_throttle.reserve(f"reporter:{reporter}")
        if mine.refused:
            return (
                f"you filed {self.report_throttle.per_minute} reports in the last minute; wait "
                f"{math.ceil(mine.retry_after)} s before the next (the moderators have the "
                "ones you sent)"
            )
        theirs = self.report_target_throttle.reserve(target_key)
        if theirs.refused:
            self.report_throttle.forget(mine)
            return (
                f"{message.target[:64]} was reported {self.report_target_throttle.per_minute} "
                "times in the last minute; the moderators have those reports and their footage "
                f"(wait {math.ceil(theirs.retry_after)} s if you have something new)"
            )
        return None

    # ------------------------------------------------------------------ distress
    def _distress(self, account: int, pilot: Pilot, zone: str) -> Effect:
        """Call for help: everyone in the system hears it, with where to find the caller; at
        most once per `distress_every_s` (a repeat is refused to the caller, not re-sent)."""
        state = self.world.ship_state(pilot)
        if state is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        refusal = self._limit_distress(account)
        if refusal is not None:
            self.metrics.inc("callister_distress_refused_total")
            return error_message(ErrorCode.RATE_LIMITED, refusal, ref="distress")
        self.metrics.inc("callister_distress_total")
        self.bus.publish(DISTRESS, DistressCall(zone, state.id, pilot.name, state.x, state.y))
        # the caller hears what would get them out (rescue offers, the recall)
        return Request(self._offers(pilot))

    async def _offers(self, pilot: Pilot) -> Answer | None:
        try:
            offers = await self.world.missions.rescue_offers(pilot)
        except ProtocolError as exc:
            return Answer(error_message(exc.code, exc.message, ref="distress"))
        fields = dict(offers)
        return Answer(encode_server(str(fields.pop("t")), **fields))

    def _limit_distress(self, account: int) -> str | None:
        """Note a distress call going out now, or say why it may not (one per window)."""
        every, now = self.settings.distress_every_s, time.monotonic()
        last = self.distress_at.get(account)
        if last is not None and now - last < every:
            return (
                f"your distress call went out {int(now - last)} s ago and everyone in the "
                f"system heard it; you may call again in {math.ceil(every - (now - last))} s"
            )
        if every > 0:
            self.distress_at[account] = now
            if len(self.distress_at) > 10_000:  # bound memory: forget calls out of the window
                self.distress_at = {a: t for a, t in self.distress_at.items() if now - t < every}
        return None

    # ------------------------------------------------------------------ spectators (issue 6)
    def spectate(self, follow: int, sector: tuple[int, int] | None) -> list[Effect]:
        """A spectator's first camera, from its hello: the entity or system it names, else (or
        when that is refused: an error with ref "spectate") the first active system, so the
        view is never blank."""
        effects: list[Effect] = []
        if follow or sector is not None:
            try:
                effects.append(self.camera(follow or None, sector, None))
            except ProtocolError as exc:
                effects.append(error_message(exc.code, exc.message, ref="spectate"))
        zones = self.world.zones
        if not any(isinstance(e, Camera) for e in effects) and zones:
            effects.append(self.camera(None, zones[min(zones)].sector, None))
        return effects

    def _spectator_message(self, sender: Sender, message: ClientMessage) -> Effect:
        if not sender.spectator:
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "not spectating: a moderator connects with hello.spectate"
            )
        if not isinstance(message, SpectateMsg):
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "a spectator has no ship to command")
        return self.camera(message.follow, message.sector, message.at)

    def camera(
        self, follow: int | None, sector: tuple[int, int] | None, at: tuple[float, float] | None
    ) -> Camera:
        """Where a spectator's camera goes (see SpectateMsg); ProtocolError: nowhere (the
        entity is in no active system, or not in the one named; no active system there)."""
        key: str | None = None
        zones = self.world.zones
        if follow:
            key = self._zone_of_entity(follow)
            if key is None:
                raise ProtocolError(
                    ErrorCode.NO_TARGET, f"entity {follow} is in no active system (or between)"
                )
            if sector is not None and zones[key].sector != sector:
                raise ProtocolError(ErrorCode.BAD_FIELD, f"entity {follow} is not in that system")
        elif sector is not None:
            key = next((k for k, h in zones.items() if h.sector == sector), None)
            if key is None:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE, f"no active system at {list(sector)}: nobody is there"
                )
        return Camera(key, follow, at)

    def _zone_of_entity(self, entity: int) -> str | None:
        """The active zone holding `entity`: a player's ship by its pilot, else by search."""
        owner = self.world.ship_owner.get(entity)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        if pilot is not None and pilot.character.ship_id == entity:
            return pilot.zone_key
        for key, handle in self.world.zones.items():
            if handle.zone.entity_kind(entity) is not None:
                return key
        return None
