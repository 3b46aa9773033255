"""`callister admin gm ...`: a game master's powers from the command line (issue 18).

Unlike the other `admin` commands these act on a running world, so they are a client of the
server's HTTP admin API (`POST /api/worlds/{name}/gm`, `GET /api/worlds/{name}/gm/audit`;
docs/protocol.md, "Game masters"): the same checks, the same audit log. Credentials as for every
admin command: a session token (`--token-file FILE` or $CALLISTER_ADMIN_TOKEN), or `--as NAME`
with its password (asked for, or `--password-stdin`), which logs in through `POST /api/login`
(the server's login throttle applies) and logs out again afterwards. The server decides who may:
administrators everywhere, a private world's owner in that world.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import urllib.error
import urllib.request
from typing import Any

from callister.cli.common import emit_json, parse_xy
from callister.cli.credentials import TOKEN_ENV, _token, read_password

HTTP_TIMEOUT_S = 60.0


def _point(text: str) -> tuple[float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a point is X,Y in metres from the system's star, like 2500,-1200; got {text!r}"
        ) from None


def _items(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(","):
        key, _, qty = part.strip().partition("=")
        try:
            out[key] = int(qty)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"items are KEY=QTY[,KEY=QTY...], like iron=20,food=5; got {text!r}"
            ) from None
    return out


def register(area: argparse._SubParsersAction) -> None:
    """`callister admin gm teleport|set|spawn-npc|spawn-wreck|give|remove|freeze|unfreeze|ship|
    audit`."""
    gm = area.add_parser(
        "gm",
        help="game-master powers in a running world (teleport, spawn, freeze, ...)",
        description="Act as a game master in a running world through the server's HTTP admin "
        "API: administrators everywhere, a private world's owner in that world. Every change "
        "is written to the world's audit log with your account. Credentials: a token "
        f"(--token-file FILE or ${TOKEN_ENV}) or --as NAME and its password.",
    )
    act = gm.add_subparsers(dest="action", metavar="ACTION", required=True, help="the power")

    def leaf(name: str, help: str, description: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = act.add_parser(name, help=help, description=description)
        p.add_argument("world", help="the world's name")
        p.add_argument(
            "--server",
            metavar="URL",
            help="the server's HTTP address (default: http://HOST:PORT from the settings)",
        )
        p.add_argument("--config", metavar="FILE", help="TOML settings file (for the address)")
        p.add_argument("--as", dest="actor", metavar="NAME", help="your account's name")
        p.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the --as account's password from standard input (one line)",
        )
        p.add_argument(
            "--token-file", metavar="FILE", help=f"a file holding a session token (or ${TOKEN_ENV})"
        )
        p.add_argument("--json", action="store_true", help="print the server's answer as JSON")
        if name != "audit":
            p.add_argument("--reason", default="", help="why (written to the audit log)")
        return p

    t = leaf(
        "teleport",
        "move a ship anywhere in the world",
        "Move a ship to a point of a system (the same or any other: it travels as a jump "
        "does) or dock it at a station there. A player who is not in the world finds the ship "
        "there at the next login.",
    )
    t.add_argument("ship", type=int, help="the ship's entity id")
    t.add_argument("--sector", type=parse_xy, help="the system's sector X,Y (default: the ship's)")
    where = t.add_mutually_exclusive_group(required=True)
    where.add_argument("--at", type=_point, metavar="X,Y", help="metres from the star")
    where.add_argument("--station", type=int, help="dock at this station (its index)")
    t.set_defaults(func=teleport)

    s = leaf("set", "set a ship's hull, hull points, shield or fuel", "Refit or repair a ship.")
    s.add_argument("ship", type=int, help="the ship's entity id")
    s.add_argument("--hull", help="a hull key: the ship is refitted with it (e.g. hauler)")
    s.add_argument("--hull-hp", type=float, help="hull points (above 0; capped at the maximum)")
    s.add_argument("--shield", type=float, help="shield points (0 or more; capped)")
    s.add_argument("--fuel", type=float, help="fuel (0 or more; capped at the tank)")
    s.set_defaults(func=set_ship)

    n = leaf(
        "spawn-npc",
        "spawn an NPC ship flown by a new clone",
        "Spawn an NPC (a pirate, trader, miner or patrol clone) at a point of a system.",
    )
    n.add_argument("role", choices=("pirate", "trader", "miner", "patrol"), help="its goal")
    n.add_argument("--sector", type=parse_xy, required=True, help="the system's sector X,Y")
    n.add_argument("--at", type=_point, required=True, metavar="X,Y", help="metres from the star")
    n.add_argument("--hull", help="its hull key (default: the role's)")
    n.set_defaults(func=spawn_npc)

    w = leaf(
        "spawn-wreck",
        "spawn a wreck holding items",
        "Spawn a lootable wreck; its items come from the world's game-master account.",
    )
    w.add_argument("--sector", type=parse_xy, required=True, help="the system's sector X,Y")
    w.add_argument("--at", type=_point, required=True, metavar="X,Y", help="metres from the star")
    w.add_argument("--items", type=_items, required=True, help="KEY=QTY[,KEY=QTY...]")
    w.set_defaults(func=spawn_wreck)

    g = leaf(
        "give",
        "give a ship cargo, or its owner credits",
        "Items into the ship's hold and/or credits to its owner, from the world's game-master "
        "ledger account `gm` (in that world's books), so the books stay balanced.",
    )
    g.add_argument("ship", type=int, help="the ship's entity id")
    g.add_argument("--items", type=_items, help="KEY=QTY[,KEY=QTY...]")
    g.add_argument("--credits", type=int, help="credits")
    g.set_defaults(func=give)

    r = leaf("remove", "remove an NPC ship or a wreck", "Take an NPC ship or a wreck out.")
    r.add_argument("entity", type=int, help="its entity id")
    r.set_defaults(func=remove)

    for op, text in (("freeze", "stop a system"), ("unfreeze", "let a frozen system go on")):
        f = leaf(op, text, f"{text[0].upper()}{text[1:]}: nothing in it moves while frozen.")
        f.add_argument("sector", type=parse_xy, help="the system's sector X,Y")
        f.set_defaults(func=freeze if op == "freeze" else unfreeze)

    m = leaf(
        "ship",
        "fly your own ship invisible, marked GM, or as an ordinary ship",
        "Your own ship in the world: invisible (in no other player's view), marked (tagged GM "
        "for everyone) or off.",
    )
    m.add_argument("mode", choices=("invisible", "marked", "off"), help="the mode")
    m.set_defaults(func=gm_ship)

    a = leaf("audit", "the world's game-master audit log", "Newest first.")
    a.set_defaults(func=audit)


# --------------------------------------------------------------------------- the commands
def _sector(xy: tuple[int, int] | None) -> list[str] | None:
    return None if xy is None else [str(xy[0]), str(xy[1])]


def teleport(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"op": "teleport", "ship": args.ship, "sector": _sector(args.sector)}
    if args.station is not None:
        body["station"] = args.station
    else:
        body["x"], body["y"] = args.at
    return _command(args, body)


def set_ship(args: argparse.Namespace) -> int:
    body = {"op": "set", "ship": args.ship, "hull": args.hull, "hull_hp": args.hull_hp,
            "shield": args.shield, "fuel": args.fuel}  # fmt: skip
    return _command(args, body)


def spawn_npc(args: argparse.Namespace) -> int:
    body = {"op": "spawn_npc", "role": args.role, "sector": _sector(args.sector),
            "x": args.at[0], "y": args.at[1], "hull": args.hull}  # fmt: skip
    return _command(args, body)


def spawn_wreck(args: argparse.Namespace) -> int:
    body = {"op": "spawn_wreck", "sector": _sector(args.sector), "x": args.at[0],
            "y": args.at[1], "items": args.items}  # fmt: skip
    return _command(args, body)


def give(args: argparse.Namespace) -> int:
    body = {"op": "give", "ship": args.ship, "items": args.items, "credits": args.credits}
    return _command(args, body)


def remove(args: argparse.Namespace) -> int:
    return _command(args, {"op": "remove", "entity": args.entity})


def freeze(args: argparse.Namespace) -> int:
    return _command(args, {"op": "freeze", "sector": _sector(args.sector)})


def unfreeze(args: argparse.Namespace) -> int:
    return _command(args, {"op": "unfreeze", "sector": _sector(args.sector)})


def gm_ship(args: argparse.Namespace) -> int:
    return _command(args, {"op": "gm_ship", "mode": args.mode})


def audit(args: argparse.Namespace) -> int:
    with _Client(args) as client:
        status, answer = client.call("GET", f"/api/worlds/{args.world}/gm/audit")
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        emit_json(answer)
        return 0
    for entry in answer["audit"]:
        done = entry["detail"].get("done", {})
        who = entry["detail"].get("actor", entry["actor"])
        print(f"{entry['id']:>6}  {entry['action']:<16} by {who}: {json.dumps(done)}")
    return 0


def _command(args: argparse.Namespace, body: dict[str, Any]) -> int:
    body = {k: v for k, v in body.items() if v is not None}
    if getattr(args, "reason", ""):
        body["reason"] = args.reason
    with _Client(args) as client:
        status, answer = client.call("POST", f"/api/worlds/{args.world}/gm", body)
    if status != 200:
        return _refused(args, status, answer)
    if args.json:
        emit_json(answer)
    else:
        shown = {k: v for k, v in answer.items() if k not in ("op", "audit")}
        print(f"{body['op']} done (audit {answer.get('audit')}): {json.dumps(shown)}")
    return 0


def _refused(args: argparse.Namespace, status: int, answer: Any) -> int:
    error = answer.get("error", {}) if isinstance(answer, dict) else {}
    code = error.get("code", f"HTTP {status}")
    message = error.get("message", str(answer).strip())
    if args.json:
        emit_json({"error": {"code": code, "message": message, "status": status}})
        return 1
    raise ValueError(f"{code}: {message}")


# --------------------------------------------------------------------------- HTTP
class _Client:
    """The server's address and a bearer token: the one given, or a session opened with --as
    and its password (closed again on exit)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.base = (args.server or _default_server(args.config)).rstrip("/")
        self.token = _token(args)
        self.opened = False
        if self.token is None:
            if not args.actor:
                raise ValueError(
                    "say who is acting: --as NAME (you are asked for the password, or use "
                    f"--password-stdin), or a token (--token-file FILE or ${TOKEN_ENV})"
                )
            password = read_password(args)
            status, answer = self.call(
                "POST", "/api/login", {"name": args.actor, "password": password}
            )
            if status != 200:
                error = answer.get("error", {}) if isinstance(answer, dict) else {}
                raise ValueError(
                    f"--as {args.actor}: {error.get('message', answer)}; nothing changed"
                )
            self.token, self.opened = answer["token"], True

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.opened:
            with contextlib.suppress(OSError):  # the session expires by itself anyway
                self.call("POST", "/api/logout")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())
        except urllib.error.URLError as exc:
            raise OSError(f"cannot reach the server at {self.base}: {exc.reason}") from None


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return raw.decode("utf-8", "replace")


def _default_server(config: str | None) -> str:
    from callister.server.settings import load_settings

    settings = load_settings(config)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"
