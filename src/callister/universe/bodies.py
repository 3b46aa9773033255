"""What is inside a star system: star, planets, stations, asteroid fields and their rocks.

`build_system` turns a sector's block entry (from `density`) into a `StarSystem`. All values
are integers drawn from a splitmix64 stream seeded by the sector hash, usually several small
values per 64-bit draw (bit fields), because every draw costs as much as the rest of the work.

Layout: the star sits at (0, 0); every planet, station and asteroid field gets its own annulus
(ring) around it, so orbiting planets never sweep through a station or a field and nothing
overlaps the star. Rocks of a field sit in distinct cells of a 200 m grid inside the field's
disc, so rocks (radius <= 90 m) never overlap each other and never leave their field.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cache, lru_cache
from math import isqrt

from callister.content import load_content
from callister.universe.hashing import GOLDEN, MIX_M1, MIX_M2, Rng, cumulative
from callister.universe.links import links_of
from callister.universe.model import (
    PLANET_KINDS,
    SERVICES,
    AsteroidField,
    Planet,
    Rock,
    Star,
    StarSystem,
    Station,
)
from callister.universe.names import ROMAN, station_names, system_name
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams, settings_at
from callister.universe.regions import faction_table, region_faction
from callister.universe.space import BLOCK_BITS, MASK64

SALT_BODIES = 0xB0D1E5

SYSTEM_RADIUS_MIN = 20_000
SYSTEM_RADIUS_MAX = 40_000
EDGE_MARGIN = 2_000  # free space between the outermost annulus and the system's edge
STAR_CLEARANCE = 1_500  # free space between the star's surface and the first annulus

# class, colour, radius range (m), sqrt(mass) in per mille of a G star; weights below
_STARS: tuple[tuple[str, str, int, int, int], ...] = (
    ("O", "#9bb0ff", 2200, 3000, 2400),
    ("B", "#aabfff", 1700, 2400, 1900),
    ("A", "#cad7ff", 1300, 1800, 1400),
    ("F", "#f8f7ff", 1000, 1400, 1150),
    ("G", "#fff4ea", 800, 1200, 1000),
    ("K", "#ffd2a1", 600, 900, 880),
    ("M", "#ffcc6f", 400, 700, 700),
)
_STAR_CUM = cumulative((2, 5, 8, 12, 18, 22, 33))

# A G-star planet at 10 km orbits in 30,000 ticks (25 minutes); periods grow as r**1.5
# (Kepler) and shrink with sqrt(star mass).
PERIOD_REF_TICKS = 30_000
PERIOD_REF_ORBIT = 10_000
_PERIOD_NUM = PERIOD_REF_TICKS * 1000  # sqrt(mass) is in per mille
_PERIOD_DEN = PERIOD_REF_ORBIT * isqrt(PERIOD_REF_ORBIT)

_PLANETS_CUM = cumulative((9, 13, 15, 15, 13, 11, 9, 7, 5, 3))  # 0..9 planets
_STATION_WEIGHTS = (22, 38, 28, 12)  # 0..3 stations: 78% of systems can be docked at


@cache
def stations_table(fraction: int) -> tuple[int, ...]:
    """Thresholds for the number of stations (0..3) when `fraction` % of systems have any:
    the 1-3 station weights keep their proportions. Scaling every weight by 78 keeps each
    threshold of the original table exactly, so the default 78% changes nothing."""
    rest = _STATION_WEIGHTS[1:]
    return cumulative(((100 - fraction) * sum(rest), *(w * fraction for w in rest)))


_STATIONS_CUM = cumulative(_STATION_WEIGHTS)
assert stations_table(100 - _STATION_WEIGHTS[0]) == _STATIONS_CUM
_FIELDS_CUM = cumulative((33, 36, 18, 9, 4))  # 0..4 asteroid fields
# planet kinds by quarter of the planet sequence (inner ones hot, outer ones cold and big)
_KINDS = PLANET_KINDS  # ("lava", "rocky", "ice", "gas"): the weights below follow it
_KINDS_CUM = tuple(
    cumulative(w) for w in ((50, 50, 0, 0), (10, 60, 15, 15), (0, 20, 30, 50), (0, 5, 55, 40))
)
_KIND_RADIUS = ((150, 400), (200, 550), (250, 650), (600, 1400))
PLANET_CLEARANCE = 450  # each side of a planet's orbit, beyond its radius
STATION_CLEARANCE = 250  # each side, beyond the docking radius
FIELD_CLEARANCE = 250  # each side, beyond the field's radius
DOCK_MARGIN = 150  # dock_radius = radius + DOCK_MARGIN
GAP_MIN = 300  # least free space between neighbouring annuli
_PLANET, _STATION, _FIELD = 0, 1, 2

ROCK_CELL = 200  # rocks sit in distinct cells of this size: 2 * max rock radius + 20 m
ROCK_R_MIN = 15
ROCK_R_MAX = 90
FIELD_R_MIN = 900
FIELD_R_MAX = 2400
# per mille chance of each service (SERVICES order) at lawful / outlaw stations: outlaws rearm
# more often and build ships less often
_SERVICE_CHANCE = {True: (850, 900, 650, 450, 180), False: (850, 900, 650, 650, 80)}
# (service, bit shift, odds in 1/256) for testing 8-bit slices 24-63 of a station's draw
_SERVICE_ODDS = {
    lawful: tuple(
        (s, 24 + 8 * n, c * 256 // 1000)
        for n, (s, c) in enumerate(zip(SERVICES, chances, strict=True))
    )
    for lawful, chances in _SERVICE_CHANCE.items()
}


@cache
def _ore_table() -> tuple[tuple[str, ...], tuple[int, ...]]:
    ores = load_content().ores
    keys = tuple(sorted(ores))  # sorted: reordering the TOML must not reshuffle the universe
    return keys, cumulative(tuple(ores[k].weight for k in keys))


@cache
def _lawful() -> dict[str, bool]:
    return {k: f.lawful for k, f in load_content().factions.items()}


@lru_cache(maxsize=64)
def rock_cells(radius: int) -> tuple[tuple[int, int], ...]:
    """Lower-left corners (relative to the field centre) of grid cells wholly inside the disc."""
    cells = []
    n = radius // ROCK_CELL + 1
    r2 = radius * radius
    for j in range(-n, n):
        for i in range(-n, n):
            x0, y0 = i * ROCK_CELL, j * ROCK_CELL
            far_x = max(abs(x0), abs(x0 + ROCK_CELL))
            far_y = max(abs(y0), abs(y0 + ROCK_CELL))
            if far_x * far_x + far_y * far_y <= r2:
                cells.append((x0, y0))
    return tuple(cells)


def _rocks(s: int, cx: int, cy: int, radius: int, count: int) -> tuple[Rock, ...]:
    # Partial Fisher-Yates over the grid cells: `count` distinct cells, one rock each, jittered
    # inside its cell. This loop is the generator's hot spot, and 64-bit mixing is its most
    # expensive part in Python, so each draw feeds two rocks, 32 bits each: bits 0-11 pick the
    # cell (bias under 10% between cells, invisible), 12-17 the size, 18-24 and 25-31 the
    # jitter. Hence also the local names and the size table (a Rock is built in C: msgspec).
    # `s` seeds a splitmix64 stream of the field's own (the field's draw, so the rocks do not
    # consume the system's stream)
    cells = list(rock_cells(radius))
    m = len(cells)
    z = 0
    out = []
    golden, mask, m1, m2 = GOLDEN, MASK64, MIX_M1, MIX_M2
    sizes = _ROCK_SIZES
    rock = Rock
    for i in range(min(count, m)):
        if i & 1:
            z >>= 32
        else:
            s = (s + golden) & mask
            z = ((s ^ (s >> 30)) * m1) & mask
            z = ((z ^ (z >> 27)) * m2) & mask
            z ^= z >> 31
        j = i + (((z & 0xFFF) * (m - i)) >> 12)
        x0, y0 = cells[j]
        cells[j] = cells[i]
        r, room = sizes[(z >> 12) & 0x3F]
        x = cx + x0 + r + ((((z >> 18) & 0x7F) * room) >> 7)
        y = cy + y0 + r + ((((z >> 25) & 0x7F) * room) >> 7)
        out.append(rock(x, y, r))
    return tuple(out)


# (rock radius, room for its centre inside a cell) by 6 random bits: the radius grows
# quadratically, so most rocks are small and a few are big
_ROCK_SIZES: tuple[tuple[int, int], ...] = tuple(
    (r, ROCK_CELL - 2 * r)
    for r in (ROCK_R_MIN + t * t * (ROCK_R_MAX - ROCK_R_MIN) // 3969 for t in range(64))
)


def _on_circle(rng: Rng, radius: int) -> tuple[int, int]:
    """A point at distance `radius` (+-1 m) from (0, 0) in a uniformly random direction.

    Rejection-samples (u, v) in an annulus of 20-bit integers: no trigonometry, so the same on
    every machine; |(u, v)| >= 2**17 keeps the rounding of u * radius // n within a metre.
    """
    while True:
        z = rng.next()
        u = (z & 0xFFFFF) - 0x80000
        v = ((z >> 20) & 0xFFFFF) - 0x80000
        n2 = u * u + v * v
        if 0x400000000 <= n2 <= 0x4000000000:
            n = isqrt(n2)
            return u * radius // n, v * radius // n


def build_system(
    seed: int, entry: tuple[int, int, int, int, int], params: GeneratorParams = DEFAULT_PARAMS
) -> StarSystem:
    """The full system for a block entry (x, y, gx, gy, hash) of world `seed` (u64), under
    `params` (its block's station fraction, field richness, faction and region name)."""
    x, y, gx, gy, h = entry
    local = settings_at(params, x >> BLOCK_BITS, y >> BLOCK_BITS)
    rng = Rng(h ^ SALT_BODIES)
    name = system_name(rng)

    z = rng.next()
    cls, color, r_lo, r_hi, sqrt_mass = _STARS[bisect_right(_STAR_CUM, z & 0xFFFF)]
    star = Star(cls, color, r_lo + ((((z >> 16) & 0xFFFF) * (r_hi - r_lo + 1)) >> 16))
    n_planets = bisect_right(_PLANETS_CUM, (z >> 32) & 0xFFFF)
    n_stations = bisect_right(stations_table(local.station_fraction), z >> 48)
    z = rng.next()
    n_fields = bisect_right(_FIELDS_CUM, z & 0xFFFF)
    target = SYSTEM_RADIUS_MIN + ((((z >> 16) & 0xFFFF) * 16_001) >> 16)  # 20-36 km
    places = z >> 32  # 4 bits per station or field (at most 7): where its annulus goes

    # One draw per body. The annuli from the star outwards are [kind, draw, radius, half
    # width]: planets keep their order (kind chosen by the quarter of the sequence it is in),
    # stations and fields are slotted in at random places among them.
    order: list[tuple[int, int, int, int]] = []
    for i in range(n_planets):
        z = rng.next()
        kind = bisect_right(_KINDS_CUM[i * 4 // n_planets], z & 0xFFFF)
        lo, hi = _KIND_RADIUS[kind]
        pr = lo + ((((z >> 16) & 0xFFFF) * (hi - lo + 1)) >> 16)
        order.append((_PLANET, z, pr, pr + PLANET_CLEARANCE))
    for i in range(n_stations + n_fields):
        z = rng.next()
        if i < n_stations:
            sr = 80 + (((z & 0xFF) * 71) >> 8)  # 80-150 m
            item = (_STATION, z, sr, sr + DOCK_MARGIN + STATION_CLEARANCE)
        else:
            # 900-2400 m in 50 m steps (few distinct radii keep rock_cells cached)
            fr = FIELD_R_MIN + 50 * (((z & 0xFFFF) * 31) >> 16)
            item = (_FIELD, z, fr, fr + FIELD_CLEARANCE)
        order.insert((((places >> (4 * i)) & 0xF) * (len(order) + 1)) >> 4, item)

    needed = star.radius + STAR_CLEARANCE + EDGE_MARGIN + GAP_MIN * (len(order) + 1)
    needed += 2 * sum(item[3] for item in order)
    while needed > SYSTEM_RADIUS_MAX:
        # too crowded even for the largest system: drop the outermost planet (or, with none
        # left, the outermost field); a few per cent of systems
        kind = _PLANET if any(item[0] == _PLANET for item in order) else _FIELD
        k = max(i for i, item in enumerate(order) if item[0] == kind)
        needed -= 2 * order[k][3] + GAP_MIN
        del order[k]
    radius = max(target, needed)
    # The slack is shared out over the gaps (before each annulus and after the last, 8 random
    # bits of weight each) so bodies spread through the whole system, not just its middle.
    shares = []
    for i in range(len(order) + 1):
        if i & 7 == 0:
            z = rng.next()
        shares.append(1 + ((z >> (8 * (i & 7))) & 0xFF))
    slack = radius - needed
    total_share = sum(shares)

    home = region_faction(seed, x, y, params)
    factions, faction_cum = faction_table()
    ores, ore_cum = _ore_table()
    lawful = _lawful()
    titles = station_names(rng, name, n_stations)
    planets: list[Planet] = []
    stations: list[Station] = []
    fields: list[AsteroidField] = []
    cursor = star.radius + STAR_CLEARANCE
    for (kind, z, body_r, half), share in zip(order, shares, strict=False):
        centre = cursor + GAP_MIN + slack * share // total_share + half
        cursor = centre + half
        if kind == _PLANET:
            i = len(planets)
            planets.append(
                Planet(
                    i,
                    f"{name} {ROMAN[i]}",  # planet_name(), inlined
                    _KINDS[bisect_right(_KINDS_CUM[i * 4 // n_planets], z & 0xFFFF)],
                    body_r,
                    centre,
                    _PERIOD_NUM * centre * isqrt(centre) // (_PERIOD_DEN * sqrt_mass),
                    (((z >> 32) & 0xFFFFF) * 1_000_000) >> 20,
                )
            )
        elif kind == _STATION:
            i = len(stations)
            sx, sy = _on_circle(rng, centre)
            # bits 8-15: 70% belong to the region's faction; 16-23: else whose; 24-63: services
            if (((z >> 8) & 0xFF) * 1000) >> 8 < 700:
                faction = home
            else:
                faction = factions[bisect_right(faction_cum, ((z >> 16) & 0xFF) << 8)]
            services = tuple(
                [
                    s
                    for s, shift, odds in _SERVICE_ODDS[lawful[faction]]
                    if (z >> shift) & 0xFF < odds
                ]
            ) or ("refuel",)
            stations.append(
                Station(i, titles[i], faction, services, sx, sy, body_r, body_r + DOCK_MARGIN)
            )
        else:
            fx, fy = _on_circle(rng, centre)
            # bits 16-31 ore; 32-47 richness 1-100, triangular around 50; 48-55 rock count:
            # 10-60, more in bigger fields, most fields on the sparse side
            richness = 1 + ((((z >> 32) & 0xFF) * 50) >> 8) + ((((z >> 40) & 0xFF) * 51) >> 8)
            if local.field_richness != 100:
                richness = max(1, min(100, richness * local.field_richness // 100))
            t = (z >> 48) & 0xFF
            count = 10 + t * t * 50 // 65025 * (body_r - FIELD_R_MIN) // (FIELD_R_MAX - FIELD_R_MIN)
            fields.append(
                AsteroidField(
                    len(fields),
                    fx,
                    fy,
                    body_r,
                    ores[bisect_right(ore_cum, (z >> 16) & 0xFFFF)],
                    richness,
                    _rocks(z, fx, fy, body_r, count),
                )
            )

    return StarSystem(
        seed=seed, x=x, y=y, name=name, gx=gx, gy=gy, faction=home, radius=radius,
        star=star, planets=tuple(planets), stations=tuple(stations), fields=tuple(fields),
        links=links_of(seed, x, y, params), region=local.region, params=params,
    )  # fmt: skip
