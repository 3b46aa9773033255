"""What the moderation service needs of the server, as `typing.Protocol`s.

Moderation sits below `server/` (docs/architecture.md): it may not import the server's `World`
or `Gateway`. The server hands it objects that fit these protocols (server/world.py `World`,
server/gateway.py `Gateway`; the cluster's worker and gateway their own), and a test may hand it
stand-ins. Only what moderation reads is here: the world's name, settings, bus, writer and store,
its loaded zones and pilots; a gateway's world and its sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from callister.sim import Zone
from callister.store import Character, Store

T = TypeVar("T")


class Subscription(Protocol):
    def unsubscribe(self) -> None: ...


class Bus(Protocol):
    """The world's bus (server/bus.py): the feeds moderation hears and publishes."""

    def publish(self, subject: str, message: Any) -> None: ...
    def subscribe(self, subject: str, handler: Callable[[Any], None]) -> Subscription: ...


class Writer(Protocol):
    """The store writer thread (server/writer.py)."""

    async def call(self, fn: Callable[..., T], *args: Any) -> T: ...


class Settings(Protocol):
    """The settings moderation reads (server/settings.py; README, 'Settings')."""

    @property
    def footage_window_s(self) -> float: ...
    @property
    def footage_checkpoint_s(self) -> float: ...
    @property
    def moderation_detect_s(self) -> float: ...
    @property
    def report_footage_s(self) -> float: ...
    @property
    def report_footage_share_s(self) -> float: ...


class System(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class ZoneHandle(Protocol):
    """A loaded zone (server/ports.py `ZoneHandle`): what footage records."""

    zone: Zone

    @property
    def system(self) -> System: ...


class Pilot(Protocol):
    """A character in the world (server/ports.py `Pilot`)."""

    account_id: int
    name: str
    character: Character
    zone_key: str | None


class Notices(Protocol):
    def notify(self, account_id: int, msg_type: str, /, **fields: Any) -> None: ...


class World(Protocol):
    """One world's runtime as moderation sees it (server/world.py `World`)."""

    name: str
    store: Store

    @property
    def settings(self) -> Settings: ...
    @property
    def bus(self) -> Bus: ...
    @property
    def writer(self) -> Writer: ...
    @property
    def notices(self) -> Notices: ...
    @property
    def zones(self) -> Mapping[str, ZoneHandle]: ...
    @property
    def pilots(self) -> Mapping[int, Pilot]: ...
    @property
    def ship_owner(self) -> Mapping[int, int]: ...


class Gateway(Protocol):
    """A world's sockets (server/gateway.py `Gateway`)."""

    @property
    def world(self) -> World: ...
    @property
    def sessions(self) -> Mapping[int, object]: ...  # the players connected, by account id
    async def disconnect(self, account_id: int, code: int, reason: str) -> bool: ...
