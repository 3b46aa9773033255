"""What every browser test needs, in one place: a player in a browser window, a live server to
play on, waiting, and the set-up a test does behind the players' backs.

- `Player`: one browser context and page at a window size, with the client's debug hook
  (`window.callister`) at hand: register or log in, undock, lock a target, wait on what the
  page shows.
- `ThreadedServer` and `game_fixture`: a live server in this process, on an event loop in a
  background thread, so a test can reach into the world (move ships, drain tanks) the way no
  player can. `ServeProcess`: a real `callister serve` subprocess instead, stopped and started
  at will.
- `until`: polling. The page's Content-Security-Policy forbids eval, which Playwright's
  `wait_for_function` uses, so waiting is done by polling `page.evaluate` (CDP evaluation is
  not subject to the page's CSP).
- Set-up: `pilot_named`, `ship_row`, `place`, `vitals`, `set_vitals`, `home_system`,
  `lawless_spot`; other pilots as the project's bot (a real
  WebSocket client): `new_bot`, `launch`, `undocked_bot`; accounts and the HTTP API: `api`,
  `ThreadedServer.account`; the consoles: `AdminConsole`, `mod_console`.

The `browser` fixture (Debian's chromium, never a downloaded browser) is in conftest.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from tests.conftest import LiveServer, make_settings, start_live

from callister.bots.client import Bot

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-42"


# ------------------------------------------------------------------------------ waiting
def until(
    what: str,
    get: Callable[[], Any],
    pred: Callable[[Any], Any] = bool,
    *,
    timeout: float = 20.0,
    every: float = 0.1,
    who: str = "",
    shown: Callable[[Any], str] = repr,
    context: Callable[[], str] | None = None,
) -> Any:
    """Poll `get()` until `pred` holds for its value, and return that value; fail the test
    naming `what`, `who` waited, the last value (as `shown` prints it) and `context()` once
    `timeout` has passed (a bound on a hang, never a speed claim)."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if pred(value):
            return value
        if time.monotonic() > deadline:
            said = f"{who}: " if who else ""
            more = f"; {context()}" if context is not None else ""
            pytest.fail(f"{said}timed out waiting for {what}; last: {shown(value)}{more}")
        time.sleep(every)


# ------------------------------------------------------------------------------ the player
class Player:
    """One browser context and page at a window size (touch and a phone's viewport where the
    device has them), with the client's debug hook at hand. Page errors and Content Security
    Policy violations are kept in `page_errors`: a test asserts there are none."""

    def __init__(
        self,
        browser: Any,
        base: str,
        name: str,
        width: int = 1280,
        height: int = 760,
        *,
        touch: bool = False,
        phone: bool = False,
    ) -> None:
        self.name = name
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, has_touch=touch, is_mobile=phone
        )
        self.page = self.context.new_page()
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        # a CSP violation is reported on the console: the client must cause none
        self.page.on(
            "console",
            lambda m: (
                self.page_errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        self.page.goto(base + "/")

    # --- reading the page
    def snap(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.page.evaluate("window.callister.snapshot()")
        return snapshot

    def status(self) -> dict[str, Any]:
        """The newest `status` message the client holds ({} before the first)."""
        value: dict[str, Any] = self.page.evaluate("window.callister.status()") or {}
        return value

    def text(self, selector: str) -> str:
        return self.page.text_content(selector) or ""

    def target_id(self, *, confirmed: bool = False) -> Any:
        """The id of the locked ship: the client's lock, or with `confirmed` the one the
        server's status names (the server has taken the lock)."""
        if confirmed:
            return (self.status().get("target") or {}).get("id")
        return (self.page.evaluate("window.callister.target()") or {}).get("id")

    # --- waiting on it
    def until(
        self,
        what: str,
        get: Callable[[], Any],
        pred: Callable[[Any], Any] = bool,
        *,
        timeout: float = 20.0,
        every: float = 0.1,
    ) -> Any:
        """`until`, failing with this player's name and page errors."""
        return until(what, get, pred, timeout=timeout, every=every, who=self.name,
                     context=lambda: f"page errors: {self.page_errors}")  # fmt: skip

    def wait_eval(
        self,
        what: str,
        expression: str,
        pred: Callable[[Any], Any] = bool,
        *,
        timeout: float = 20.0,
        every: float = 0.1,
    ) -> Any:
        """Evaluate `expression` in the page (one of the debug hook's readers) until `pred`
        holds for its value, and return the value."""
        return self.until(
            what, lambda: self.page.evaluate(expression), pred, timeout=timeout, every=every
        )

    def wait(
        self, what: str, predicate: Callable[[dict[str, Any]], Any], timeout: float = 15.0
    ) -> dict[str, Any]:
        """Poll the debug snapshot until predicate(snapshot) holds."""

        def said() -> str:
            shown = self.text("#login-error") if self.page.is_visible("#login") else ""
            return f"the login screen says: {shown!r}" if shown else ""

        snapshot: dict[str, Any] = until(
            what, self.snap, predicate, timeout=timeout, who=self.name, shown=brief, context=said
        )
        return snapshot

    def wait_status(
        self, what: str, pred: Callable[[dict[str, Any]], Any], timeout: float = 20
    ) -> dict[str, Any]:
        """Poll the newest status message until it is there and `pred` holds for it."""
        status: dict[str, Any] = until(
            what, self.status, lambda s: s and pred(s), timeout=timeout, who=self.name,
            context=lambda: brief(self.snap()),
        )  # fmt: skip
        return status

    def wait_near(self, what: str, x: float, y: float, within: float) -> dict[str, Any]:
        """Wait until the page has our ship within `within` of (x, y) (after set-up moved
        it there), and then for the view to catch up."""
        s = self.wait(what, lambda s: math.hypot(s["pos"]["x"] - x, s["pos"]["y"] - y) < within)
        time.sleep(0.5)  # the view draws ~100 ms in the past: let it catch up with the move
        return s

    def shows(self, selector: str, text: str, timeout: float = 5.0) -> None:
        """Wait until the element's text is exactly `text` (the HUD refreshes at 10 Hz)."""
        self.page.wait_for_selector(
            f"{selector}:text-is({json.dumps(text)})", timeout=timeout * 1000
        )

    # --- acting
    def hold(self, key: str, seconds: float) -> None:
        self.page.keyboard.down(key)
        time.sleep(seconds)
        self.page.keyboard.up(key)

    def register(self, *, tap: bool = False) -> dict[str, Any]:
        """Register through the login form (by taps on a touch screen); the first snapshot."""
        if tap:  # a phone: a tap focuses the field (and brings up its keyboard)
            self.page.tap("#login-name")
        self._fill_login()
        if tap:
            self.page.tap("#btn-register")
        else:
            self.page.click("#btn-register")
        return self._in_game("registration and the first snapshot")

    def log_in(self) -> dict[str, Any]:
        """Log in through the login form (the account exists); the first snapshot."""
        self._fill_login()
        self.page.click("#btn-login")
        return self._in_game("the login and the first snapshot")

    def _fill_login(self) -> None:
        self.page.fill("#login-name", self.name)
        self.page.fill("#login-password", PASSWORD)

    def _in_game(self, what: str) -> dict[str, Any]:
        return self.wait(
            what, lambda s: s["inGame"] and s["status"] == "online" and s["pos"] and s["system"]
        )

    def undock(self) -> dict[str, Any]:
        """Undock with F; the first snapshot in space."""
        self.page.keyboard.press("f")
        return self.wait("undocking", lambda s: not s["docked"])

    def press_until(
        self,
        what: str,
        press: str | Callable[[], None],
        get: Callable[[], Any],
        pred: Callable[[Any], Any],
        *,
        timeout: float = 15.0,
        every: float = 0.3,
    ) -> None:
        """Press `press` (a key, or an action such as a tap) again and again until `pred`
        holds for `get()`: for a key that cycles (T steps through the ships in view), a press
        may land before the page has taken the last one."""
        deadline = time.monotonic() + timeout
        while not pred(value := get()):
            assert time.monotonic() < deadline, f"{self.name}: could not {what}; last: {value!r}"
            if callable(press):
                press()
            else:
                self.page.keyboard.press(press)
            time.sleep(every)

    def lock(
        self,
        ship: int,
        *,
        confirmed: bool = False,
        press: str | Callable[[], None] = "t",
        every: float = 0.3,
    ) -> None:
        """Lock `ship` with T (or `press`): see `target_id` for `confirmed`."""
        self.press_until(
            f"lock ship {ship}",
            press,
            lambda: self.target_id(confirmed=confirmed),
            lambda locked: locked == ship,  # ids: JSON numbers
            every=every,
        )

    def close_station(self, *, tap: bool = False) -> None:
        """Shut the station screen the way a player does: a tap (touch) or a click on its ✕."""
        self.page.wait_for_selector("#station-screen", state="visible", timeout=10000)
        if tap:
            self.page.tap("#station-screen .close")
        else:
            self.page.click("#station-screen .close")
        self.page.wait_for_selector("#station-screen", state="hidden")

    def close(self) -> None:
        self.context.close()


def brief(s: dict[str, Any]) -> str:
    """The parts of a debug snapshot worth printing when a wait fails."""
    keep = ("status", "ship", "pos", "speed", "docked", "jumping", "system", "visible", "lastError")
    return json.dumps({k: s.get(k) for k in keep})


def mod_console(browser: Any, base: str, name: str) -> Player:
    """A moderator logged in to the moderation console (/mod)."""
    mod = Player(browser, base, name)
    mod.page.goto(base + "/mod")
    mod.page.fill("#mod-name", name)
    mod.page.fill("#mod-password", PASSWORD)
    mod.page.click("#mod-btn-login")
    return mod


class AdminConsole:
    """The admin console (/admin) in a browser context of its own, page errors kept."""

    def __init__(self, browser: Any, base: str, width: int = 1280, height: int = 800) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def log_in(self, name: str, ready: str, timeout: float = 10.0) -> Any:
        """Log in as the administrator `name`; the page, once `ready` (a selector) is shown."""
        self.page.goto(self.base + "/admin")
        self.page.fill("#admin-name", name)
        self.page.fill("#admin-password", PASSWORD)
        self.page.click("#admin-login-submit")
        self.page.wait_for_selector(ready, timeout=timeout * 1000)
        return self.page

    def close(self) -> None:
        self.context.close()


# ------------------------------------------------------------------------------ the HTTP API
def api(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """One JSON request to the server's HTTP API (as the bearer of `token`); its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def register_account(base: str, name: str) -> dict[str, Any]:
    """Register `name` (with the tests' password) through the API: its token and account."""
    answer: dict[str, Any] = api(
        base, "POST", "/api/register", {"name": name, "password": PASSWORD}
    )
    return answer


# ------------------------------------------------------------------------------ servers
class ThreadedServer:
    """A live server on an event loop in a background thread; `call` runs code on that loop.

    By default weapons are ten times as deadly (the fight is over in seconds, not minutes);
    `overrides` are settings (tests/conftest.py's make_settings)."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = make_settings(tmp, **{"damage_multiplier": 10.0, **overrides})
        self.live: LiveServer = self.run(start_live(settings))
        self.http: aiohttp.ClientSession | None = None

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def go() -> T:
            return fn()

        result: T = self.run(go())
        return result

    def keep_reading(self, bot: Bot, seconds: float) -> Future[None]:
        """Keep a bot reading its socket (its server-side queue must not fill) for `seconds`
        on the server's loop; cancel the future to stop."""
        return asyncio.run_coroutine_threadsafe(bot.pump(seconds), self.loop)

    def session(self) -> aiohttp.ClientSession:
        """The bots' HTTP session, made on first use (call it on the server's loop) and closed
        with the server."""
        if self.http is None:
            self.http = aiohttp.ClientSession()
        return self.http

    def account(self, name: str, role: str | None = None) -> dict[str, Any]:
        """Register `name` through the API and give it `role` (admin, moderator): its token."""
        answer = register_account(self.live.http, name)
        if role is not None:
            self.live.services.store.accounts.set_role(name, role)
        return answer

    @property
    def world(self) -> Any:
        return self.live.services.world

    def close(self) -> None:
        if self.http is not None:
            self.run(self.http.close())
        self.run(self.live.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def game_fixture(label: str, **overrides: Any) -> Any:
    """A module's `game` fixture: a ThreadedServer with these settings in a fresh temporary
    folder named after `label`, shared by the module's tests and closed after them."""

    @pytest.fixture(scope="module")
    def game(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
        server = ThreadedServer(tmp_path_factory.mktemp(label), **overrides)
        try:
            yield server
        finally:
            server.close()

    return game


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read())


class ServeProcess:
    """`callister serve` as a subprocess on a free port with its own SQLite file in `tmp`:
    started, stopped and started again at will (the port and the file are kept)."""

    def __init__(self, tmp: Path, db: str, healthy_within: float, **env: str) -> None:
        self.tmp = tmp
        self.db = db
        self.healthy_within = healthy_within
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = dict(os.environ)
        self.env.update(
            CALLISTER_ARGON2_TIME_COST="1",  # fast hashing for tests
            CALLISTER_ARGON2_MEMORY_KIB="8192",
            PYTHONUNBUFFERED="1",
            **env,
        )

    @property
    def log_path(self) -> Path:
        return self.tmp / "server.log"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "callister", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--db", f"sqlite:///{self.tmp}/{self.db}"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp
            )
        deadline = time.monotonic() + self.healthy_within
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if get_json(f"{self.base}/healthz").get("status") == "ok":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy within {self.healthy_within:g} s:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


# ------------------------------------------------------------------------------ set-up
def pilot_named(world: Any, name: str) -> Any:
    return next(p for p in world.pilots.values() if p.name == name)


def ship_in_zone(world: Any, name: str) -> tuple[Any, int]:
    """The zone the named player's ship is in, and the ship's id."""
    pilot = pilot_named(world, name)
    return world.zones[pilot.zone_key].zone, pilot.character.ship_id


def ship_row(world: Any, name: str) -> tuple[Any, int]:
    """The zone the named player's ship is in, and the ship's row in the zone's store."""
    zone, ship = ship_in_zone(world, name)
    return zone, zone.store.row(ship)


def vitals(game: ThreadedServer, name: str, world: Any = None) -> Any:
    """The named player's ship's vitals (hull, shield, energy, fuel and their maxima), in
    `world` (the server's home world unless given)."""

    def go() -> Any:
        zone, ship = ship_in_zone(world or game.world, name)
        return zone.vitals(ship)

    return game.call(go)


def set_vitals(game: ThreadedServer, name: str, **values: float) -> None:
    """Test set-up: set some of the named player's ship's vitals (fuel=0.0: a dry tank)."""

    def go() -> None:
        zone, ship = ship_in_zone(game.world, name)
        zone.set_vitals(ship, **values)

    game.call(go)


def place(
    game: ThreadedServer,
    name: str,
    x: float,
    y: float,
    *,
    angle: float | None = None,
    world: Any = None,
) -> None:
    """Test set-up: put the named player's (undocked) ship at rest at (x, y), its nose at
    `angle` if given, in `world` (the server's home world unless given)."""

    def go() -> None:
        zone, row = ship_row(world or game.world, name)
        zone.store.x[row], zone.store.y[row] = x, y
        zone.store.vx[row] = zone.store.vy[row] = 0.0
        if angle is not None:
            zone.store.angle[row] = angle

    game.call(go)


def home_system(game: ThreadedServer, name: str) -> dict[str, Any]:
    """The named player's system as its `system` message has it (stations, fields, links)."""
    system: dict[str, Any] = game.call(
        lambda: game.world.zones[pilot_named(game.world, name).zone_key].system.to_dict()
    )
    return system


def lawless_spot(system: dict[str, Any]) -> tuple[float, float]:
    """A point in the system far (> 7 km) from every station, away from the star."""
    best, spot = -1.0, (0.0, 0.0)
    radius = float(system["radius"])
    for i in range(72):
        a = i * math.pi / 36
        for r in (0.4 * radius, 0.6 * radius, 0.8 * radius):
            x, y = r * math.cos(a), r * math.sin(a)
            d = min(math.hypot(x - s["x"], y - s["y"]) for s in system["stations"])
            if d > best:
                best, spot = d, (x, y)
    assert best > 7000, "the home system has no lawless space"
    return spot


def new_bot(game: ThreadedServer, name: str, *, role: str | None = None) -> Bot:
    """Another player: the project's bot (a real WebSocket client), registered (with `role`,
    if given) but not yet connected."""

    async def register() -> Bot:
        bot = Bot(game.live.http, game.live.ws, name, session=game.session(), jump_every_s=0)
        await bot.register()
        if role is not None:
            game.live.services.store.accounts.set_role(name, role)
        return bot

    bot: Bot = game.run(register())
    return bot


def launch(game: ThreadedServer, bot: Bot) -> Bot:
    """Connect a registered bot (unless it is already) and undock it; keep it reading its
    socket (`keep_reading`) while the test runs."""

    async def go() -> Bot:
        if bot.ws is None:
            await bot.connect()
        await bot.send({"t": "undock", "ship": bot.ship})
        while bot.docked:
            await bot.pump(0.05)
        return bot

    launched: Bot = game.run(go())
    return launched


def undocked_bot(game: ThreadedServer, name: str, *, role: str | None = None) -> Bot:
    """Another pilot, registered, connected and undocked (see `new_bot` and `launch`)."""
    return launch(game, new_bot(game, name, role=role))
