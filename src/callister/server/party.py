"""Parties (issue 16, "friends together"): players grouped so they see each other on the maps.

- `party_invite` {name}: invite an online player. They get a `party_invite` (from whom, the
  party so far); it stands for INVITE_TTL_S. A player in a party already is refused
  IN_PARTY; a full party (`party_max`) PARTY_FULL; nobody online by that name NOT_AVAILABLE.
- `party_accept` {from}: join the inviter's party (made when the inviter had none, led by the
  inviter). One party per player per world: in one already, IN_PARTY (leave it first).
- `party_decline` {from}: drop the invitation. `party_leave`: leave; a party of one ends, and
  when the leader leaves the longest-standing member leads.
- Every member online gets a `party` message when the party changes and, while anything in it
  changes (members moving, coming online), at most once a second: who is in it, where each is
  (system, position, docked), and the invitations out. The client draws them on its maps.

Parties are persisted (store.parties), loaded when the world starts; invitations are kept in
memory only (they last two minutes). A player who registered with a friend's invite link is
invited to the friend's party on arrival, when the friend is online (`arrived`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    PartyAcceptMsg,
    PartyDeclineMsg,
    PartyInviteMsg,
    PartyLeaveMsg,
    PartyMessage,
    encode_server,
)
from callister.server.ports import Notify, Pilot, Residents, online_pilot
from callister.server.shipshare import ShipShare
from callister.server.writer import StoreWriter
from callister.store import InParty, NotFound, Party, PartyFull, Store

log = logging.getLogger(__name__)

INVITE_TTL_S = 120.0  # an invitation stands this long
SEND_EVERY_S = 1.0  # members' positions are sent at most this often
PURGE_EVERY = 3600  # rounds (an hour) between deleting expired invite links


@dataclass(slots=True)
class Invitation:
    inviter: int
    expires: float  # time.monotonic()
    delivered: bool


class PartyDesk:
    """The world's parties: the persisted groups and the invitations out."""

    def __init__(
        self,
        residents: Residents,
        *,
        shipshare: ShipShare,
        store: Store,
        writer: StoreWriter,
        notify: Notify,
        world_name: str,
        party_max: int,
    ) -> None:
        self.residents, self.shipshare, self.store, self.writer = (
            residents,
            shipshare,
            store,
            writer,
        )
        self.notify, self.world_name, self.party_max = notify, world_name, party_max
        self.parties: dict[int, Party] = {}
        self.member_of: dict[int, int] = {}  # account -> party id
        self.names: dict[int, str] = {}  # account -> name (members offline included)
        self.invites: dict[int, dict[int, Invitation]] = {}  # invitee -> inviter -> invitation
        self._sent: dict[int, str] = {}  # account -> the last `party` text sent to it

    # ------------------------------------------------------------------ lifetime
    async def load(self) -> None:
        """Read the world's parties (and their members' names) from the store."""
        store = self.store
        parties = await self.writer.call(store.parties.all, self.world_name)
        for party in parties:
            self._index(party)
            for account in party.members:
                if account not in self.names:
                    found = await self.writer.call(store.accounts.get, account)
                    self.names[account] = found.name if found is not None else str(account)

    async def run(self) -> None:
        """Send parties their members' whereabouts, and deliver invitations, once a second."""
        rounds = 0
        while True:
            await asyncio.sleep(SEND_EVERY_S)
            rounds += 1
            try:
                self.tick()
                if rounds % PURGE_EVERY == 0:  # expired invite links: nobody can use them
                    self.writer.submit(self.store.invites.purge_expired)
            except Exception:
                log.exception("parties failed to update")

    def tick(self) -> None:
        now = time.monotonic()
        for invitee, offers in list(self.invites.items()):
            for inviter, inv in list(offers.items()):
                if inv.expires < now:
                    del offers[inviter]
                elif not inv.delivered:
                    self._deliver(invitee, inv)
            if not offers:
                del self.invites[invitee]
        for party in list(self.parties.values()):
            self._send(party)

    # ------------------------------------------------------------------ messages
    def handle(self, pilot: Pilot, message: PartyMessage) -> Awaitable[None] | None:
        """A party message: refusals raise ProtocolError; store work returns a coroutine."""
        if isinstance(message, PartyInviteMsg):
            self.invite(pilot, message.name)
            return None
        if isinstance(message, PartyAcceptMsg):
            return self.accept(pilot, message.inviter)
        if isinstance(message, PartyDeclineMsg):
            offers = self.invites.get(pilot.account_id, {})
            if offers.pop(message.inviter, None) is None:
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, "no invitation from that player")
            self._send_to(message.inviter)
            return None
        if isinstance(message, PartyLeaveMsg):
            if pilot.account_id not in self.member_of:
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are in no party")
            return self.leave(pilot.account_id)
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "not a party message")  # pragma: no cover

    def invite(self, pilot: Pilot, name: str) -> None:
        guest = online_pilot(self.residents.pilots, name)
        if guest.account_id == pilot.account_id:
            raise ProtocolError(ErrorCode.BAD_FIELD, "you cannot invite yourself")
        party = self.party_of(pilot.account_id)
        if guest.account_id in self.member_of:
            same = party is not None and self.member_of[guest.account_id] == party.id
            raise ProtocolError(
                ErrorCode.IN_PARTY,
                f"{guest.name} is in your party already"
                if same
                else f"{guest.name} is in another party",
            )
        if party is not None and len(party.members) >= self.party_max:
            raise ProtocolError(
                ErrorCode.PARTY_FULL, f"your party has {len(party.members)} members, the most"
            )
        self.offer(pilot.account_id, guest.account_id, deliver=True)

    def offer(self, inviter: int, invitee: int, *, deliver: bool) -> None:
        """Record an invitation (delivered now, or by the next tick). Inviting again while an
        invitation stands renews it without telling the invitee twice (no invitation spam)."""
        offers = self.invites.setdefault(invitee, {})
        old = offers.get(inviter)
        if old is not None and old.delivered and old.expires > time.monotonic():
            old.expires = time.monotonic() + INVITE_TTL_S
            return
        inv = Invitation(inviter, time.monotonic() + INVITE_TTL_S, False)
        offers[inviter] = inv
        if deliver:
            self._deliver(invitee, inv)
        self._send_to(inviter)

    def _deliver(self, invitee: int, inv: Invitation) -> None:
        pilot = self.residents.pilots.get(invitee)
        if pilot is None or not pilot.connected:
            return
        party = self.party_of(inv.inviter)
        self.notify(
            invitee,
            "party_invite",
            **{"from": inv.inviter},
            name=self._name(inv.inviter),
            party=party.id if party is not None else None,
            members=[self._name(a) for a in party.members] if party is not None else [],
            expires_in_s=max(0, round(inv.expires - time.monotonic())),
        )
        inv.delivered = True

    async def accept(self, pilot: Pilot, inviter: int) -> None:
        account = pilot.account_id
        inv = self.invites.get(account, {}).get(inviter)
        if inv is None or inv.expires < time.monotonic():
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE, "no invitation from that player (or it expired)"
            )
        if account in self.member_of:
            raise ProtocolError(ErrorCode.IN_PARTY, "you are in a party already: leave it first")
        try:
            party = await self.writer.call(
                self.store.parties.join, self.world_name, inviter, account, self.party_max
            )
        except InParty:
            raise ProtocolError(
                ErrorCode.IN_PARTY, "you are in a party already: leave it first"
            ) from None
        except PartyFull:
            raise ProtocolError(ErrorCode.PARTY_FULL, "that party is full") from None
        self.invites.get(account, {}).pop(inviter, None)
        self.names[account] = pilot.name
        self.names.setdefault(inviter, self._name(inviter))
        self._index(party)
        self._send(party, force=True)

    async def leave(self, account: int) -> None:
        old = self.party_of(account)
        try:
            after = await self.writer.call(self.store.parties.leave, self.world_name, account)
        except NotFound:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are in no party") from None
        self.member_of.pop(account, None)
        if old is not None and after is None:  # the party ended: tell the one left
            self.parties.pop(old.id, None)
            for member in old.members:
                self.member_of.pop(member, None)
                self._send_to(member, force=True)
        elif after is not None:
            self._index(after)
            self._send(after, force=True)
        self._send_to(account, force=True)

    def arrived(self, pilot: Pilot, invited_by: int | None) -> None:
        """A new player who came by a friend's invite link: the friend's party invites them
        (when the friend is online and there is room)."""
        if invited_by is None or invited_by == pilot.account_id:
            return
        friend = self.residents.pilots.get(invited_by)
        if friend is None or pilot.account_id in self.member_of:
            return
        party = self.party_of(invited_by)
        if party is not None and len(party.members) >= self.party_max:
            return
        self.offer(invited_by, pilot.account_id, deliver=False)  # after the welcome

    # ------------------------------------------------------------------ what members see
    def party_of(self, account: int) -> Party | None:
        party_id = self.member_of.get(account)
        return self.parties.get(party_id) if party_id is not None else None

    def _index(self, party: Party) -> None:
        old = self.parties.get(party.id)
        if old is not None:
            for member in old.members:
                if self.member_of.get(member) == party.id:
                    self.member_of.pop(member)
        self.parties[party.id] = party
        for member in party.members:
            self.member_of[member] = party.id

    def _name(self, account: int) -> str:
        pilot = self.residents.pilots.get(account)
        if pilot is not None:
            return pilot.name
        return self.names.get(account, str(account))

    def _where(self, account: int) -> dict[str, Any]:
        """A member's entry in `party.members`: who, online, and where."""
        pilot = self.residents.pilots.get(account)
        entry: dict[str, Any] = {
            "id": account,
            "name": self._name(account),
            "online": False,
            "system": None,
            "x": None,
            "y": None,
            "docked": None,
            "ship": None,
        }
        if pilot is None:
            return entry
        c = pilot.character
        berth = self.shipshare.berth(account)
        ship = berth.ship if berth is not None else c.ship_id
        key = self.shipshare.zone_for(pilot)
        handle = self.residents.zones.get(key) if key else None
        entry["online"] = pilot.connected
        entry["system"] = [str(c.system_x), str(c.system_y)]
        if handle is not None and handle.zone.has_ship(ship):
            state = handle.zone.ship_state(ship)
            entry["system"] = [str(handle.sector[0]), str(handle.sector[1])]
            entry["x"], entry["y"] = round(state.x), round(state.y)
            entry["docked"] = state.docked_at
            entry["ship"] = ship
        return entry

    def describe(self, account: int) -> dict[str, Any]:
        """The `party` message for `account`."""
        party = self.party_of(account)
        invited = [
            {"id": invitee, "name": self._name(invitee)}
            for invitee, offers in sorted(self.invites.items())
            if any(
                inviter == account or (party is not None and inviter in party.members)
                for inviter in offers
            )
        ]
        if party is None:
            return {"party": None, "leader": None, "members": [], "invited": invited}
        return {
            "party": party.id,
            "leader": party.leader,
            "members": [self._where(m) for m in party.members],
            "invited": invited,
        }

    def _send(self, party: Party, *, force: bool = False) -> None:
        for member in party.members:
            self._send_to(member, force=force)

    def _send_to(self, account: int, *, force: bool = False) -> None:
        pilot = self.residents.pilots.get(account)
        if pilot is None or not pilot.connected:
            self._sent.pop(account, None)
            return
        info = self.describe(account)
        text = encode_server("party", **info)
        if not force and self._sent.get(account) == text:
            return
        quiet = info["party"] is None and not info["invited"] and account not in self._sent
        if quiet and not force:
            return  # never in a party and nothing to say
        self._sent[account] = text
        self.notify(account, "party", **info)
