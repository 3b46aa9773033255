"""`callister universe show|map`: look at the generated universe without a server, with the
default generator parameters or a world's (`--params FILE`)."""

from __future__ import annotations

import argparse
import json
from html import escape
from typing import Any

from callister.cli.common import (
    add_command,
    add_group,
    emit_json,
    json_switch,
    option,
    parse_xy,
    with_default,
)


def register(sub: argparse._SubParsersAction) -> None:
    act = add_group(
        sub,
        "universe",
        help="inspect the generated universe",
        description="Generate and print systems from a seed (no server needed). "
        "Negative coordinates: write --at=-5,3.",
        dest="action",
        choose="what to look at",
    )
    seed = with_default("--seed", 1, "universe seed")
    add_command(
        act,
        "show",
        show,
        seed,
        option("--at", required=True, type=parse_xy, help="sector X,Y (64-bit integers)"),
        PARAMS_OPTION,
        json_switch("print the system as JSON"),
        help="print one system",
        description="Print the system in one sector (star, planets, stations, asteroid fields, "
        "jump links), or say that the sector is empty. Negative coordinates: --at=-5,3.",
    )
    add_command(
        act,
        "map",
        map_,
        seed,
        option("--around", required=True, type=parse_xy, help="centre sector X,Y"),
        with_default("--radius", 8, "sectors each way, 0..64"),
        json_switch("print the systems as JSON"),
        option("--svg", metavar="FILE", help="also render the map to an SVG file"),
        PARAMS_OPTION,
        help="print or render the neighbourhood of a sector",
        description="Print an ASCII map of the sectors around one (and list their systems), "
        "or render it to SVG. Negative coordinates: --around=-5,3.",
    )


PARAMS_OPTION = option(
    "--params",
    metavar="FILE",
    help="generator parameters: a TOML file (docs/worlds.md, 'Generator parameters') or "
    "their JSON form (default: the default parameters)",
)


def load_params(path: str | None) -> Any:
    """The GeneratorParams in the TOML or JSON file `path` (the defaults for None); a bad file
    raises ValueError naming the parameter, which main() prints."""
    from callister.universe import DEFAULT_PARAMS, GeneratorParams

    if path is None:
        return DEFAULT_PARAMS
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".json"):
        try:
            return GeneratorParams.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        except RecursionError:
            raise ValueError(f"{path}: JSON nested too deeply") from None
    return GeneratorParams.from_toml(text)


def show(args: argparse.Namespace) -> int:
    from callister.universe import generate_system

    x, y = args.at
    system = generate_system(args.seed, x, y, load_params(args.params))
    if args.json:
        emit_json(system.to_dict() if system else {"x": str(x), "y": str(y), "system": None})
        return 0
    if system is None:
        print(f"sector ({x}, {y}): empty space")
        return 0
    d = system.to_dict()
    region = f"  region {system.region}" if system.region else ""
    print(f"{d['name']}  sector ({x}, {y})  radius {d['radius']} m{region}")
    print(f"  star: {_brief(d['star'])}")
    for planet in d["planets"]:
        print(f"  planet {planet.get('name')}: {_brief(planet, 'name')}")
    for station in d["stations"]:
        print(f"  station {station.get('name')}: {_brief(station, 'name')}")
    for field in d["fields"]:
        rocks = len(field.get("rocks", []))
        brief = _brief({k: v for k, v in field.items() if k != "rocks"})
        print(f"  asteroid field {field.get('index')}: {brief}, {rocks} rocks")
    print(f"  jump links: {', '.join(f'({a}, {b})' for a, b in d['links']) or 'none'}")
    return 0


def _brief(obj: dict[str, Any], *skip: str) -> str:
    return ", ".join(
        f"{k}={v}" for k, v in obj.items() if k not in skip and not isinstance(v, list | dict)
    )


def map_(args: argparse.Namespace) -> int:
    from callister.universe import neighbourhood

    if not 0 <= args.radius <= 64:
        raise ValueError("--radius must be within 0..64")
    cx, cy = args.around
    systems = neighbourhood(args.seed, cx, cy, args.radius, load_params(args.params))
    if args.svg:
        _write_svg(args.svg, systems, cx, cy, args.radius)
    if args.json:
        emit_json(
            [
                {
                    "x": str(s.sector[0]),
                    "y": str(s.sector[1]),
                    "name": s.name,
                    "stations": len(s.stations),
                    "links": [[str(a), str(b)] for a, b in s.links],
                    **({"region": s.region} if s.region else {}),
                }
                for s in systems
            ]
        )
        return 0
    at = {s.sector: s for s in systems}
    r = args.radius
    print(
        f"seed {args.seed}, around ({cx}, {cy}), radius {r}: {len(systems)} systems "
        "(@ centre, # with station, * without)"
    )
    for y in range(cy + r, cy - r - 1, -1):
        row = []
        for x in range(cx - r, cx + r + 1):
            s = at.get((x, y))
            mark = "." if s is None else ("#" if s.stations else "*")
            if (x, y) == (cx, cy):
                mark = "@" if s is not None else "o"
            row.append(mark)
        print(" ".join(row))
    for s in systems:
        print(
            f"  ({s.sector[0]}, {s.sector[1]}) {s.name}: {len(s.stations)} stations, "
            f"{len(s.links)} links"
        )
    if args.svg:
        print(f"rendered to {args.svg}")
    return 0


def _write_svg(path: str, systems: list[Any], cx: int, cy: int, r: int) -> None:
    cell = 40
    size = (2 * r + 1) * cell

    def pos(x: int, y: int) -> tuple[float, float]:
        return (x - cx + r + 0.5) * cell, (cy - y + r + 0.5) * cell

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}"><rect width="100%" height="100%" fill="#05070d"/>'
    ]
    drawn = set()
    for s in systems:
        for link in s.links:
            key = tuple(sorted([s.sector, tuple(link)]))
            if key in drawn:
                continue
            drawn.add(key)
            (x1, y1), (x2, y2) = pos(*s.sector), pos(*link)
            parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#2a4a7a"/>')
    for s in systems:
        x, y = pos(*s.sector)
        colour = s.star.color if hasattr(s.star, "color") else "#ffd27f"
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="{5 if s.stations else 3}" fill="{escape(str(colour))}"/>'
        )
        parts.append(
            f'<text x="{x + 6}" y="{y - 6}" fill="#9fb3d9" font-size="9" '
            f'font-family="sans-serif">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
