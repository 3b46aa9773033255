"""`callister bench report`: run the benchmarks and regenerate the figures of docs/benchmarks.md.

Every figure in the doc's generated blocks comes from a command listed here, run as a process of
its own (`python -m callister bench ... --json`, so one benchmark's heap and threads never
disturb the next). Each run's JSON is kept in docs/benchmarks.json with the command, the date,
the machine and the load average when it started; the doc's blocks are then rendered from that
file alone, between markers:

    <!-- bench-report:NAME -->  ...generated...  <!-- /bench-report:NAME -->

so a test can check that the doc shows what the JSON holds (tests/bench/test_report.py), and a
benchmark run with `--only NAME` refreshes one block without touching the others. The prose
around the blocks is written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

Result = dict[str, Any]
Render = Callable[[Result], list[str]]

DOC: Final = Path("docs/benchmarks.md")
RESULTS: Final = Path("docs/benchmarks.json")
STAT_KEYS: Final = ("p50", "p99", "max", "mean")


class ReportError(ValueError):
    """A benchmark of the report failed, or the doc's markers are missing or broken."""


@dataclass(frozen=True, slots=True)
class Section:
    """One generated block: the `callister bench` arguments that measure it, how its figures
    become Markdown, and whether the default run includes it (heavy ones need the machine to
    themselves and are run with --only)."""

    name: str
    args: tuple[str, ...]
    render: Render
    default: bool = True

    @property
    def command(self) -> str:
        return "callister bench " + " ".join((*self.args, "--json"))


# ------------------------------------------------------------------------------ rendering
def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 2) -> list[str]:
    """A Markdown table; numbers formatted with `digits` decimals, None as a dash."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_num(c, digits) for c in row) + " |" for row in rows]
    return out


def _stats(label: str, stats: dict[str, Any] | None, digits: int = 2) -> list[Any]:
    stats = stats or {}
    return [label, *(_num(stats.get(k), digits) for k in STAT_KEYS)]


def _stats_table(rows: Sequence[tuple[str, dict[str, Any] | None]], unit: str = "ms") -> list[str]:
    return table(
        ["", f"p50 {unit}", f"p99 {unit}", f"max {unit}", f"mean {unit}"],
        [_stats(label, stats) for label, stats in rows],
    )


def render_gen(r: Result) -> list[str]:
    return table(
        ["systems", "systems/s", "seconds", "links/system", "empty sectors", "rocks/system"],
        [
            [
                r["systems"],
                r["systems_per_s"],
                r["seconds"],
                r["links_per_system"],
                r["empty_fraction"],
                r["rocks_per_system"],
            ]
        ],
        digits=2,
    )


def render_sim(r: Result) -> list[str]:
    peer = r.get("peer")
    rows: list[tuple[str, dict[str, Any] | None]] = [
        (f"Callister, {r['entities']:,} ships ({r['ticks']} ticks)", r["ms_per_tick"])
    ]
    if peer:
        boxed = ", time-boxed" if peer.get("time_boxed") else ""
        rows.append(
            (f"esper {peer['version']} ({peer['ticks']} ticks{boxed})", peer["ms_per_tick"])
        )
    out = _stats_table(rows)
    if peer:
        out += ["", f"esper / Callister at p50: **{_num(r.get('ratio'))}×**"]
    if r.get("autopilot"):
        out += [
            "",
            f"ships on autopilot {r['autopilot']:,}: {r['autopilot_arrivals']:,} arrivals in the "
            f"timed ticks, {r['cruising']:,} cruising at the end",
        ]
    out += [
        "",
        f"collisions per tick {_num(r['collisions_per_tick'], 1)}, "
        f"intents per tick {_num(r['intents_per_tick'], 1)}; mean ms per tick of each stage "
        "(`sim/schedule.py`, in the order they run; `grid` is the lazy neighbour grid):",
        "",
    ]
    stages = in_schedule_order(r["systems_ms"])
    out += table(list(stages), [list(stages.values())], digits=3)
    return out


def in_schedule_order(stages: dict[str, float]) -> dict[str, float]:
    """Stage timings in the order the tick runs them (the stored JSON sorts its keys)."""
    from callister.sim import STAGE_NAMES

    order = {name: i for i, name in enumerate(STAGE_NAMES)}
    return dict(sorted(stages.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def render_zones(r: Result) -> list[str]:
    rows = [("`Zone.step()`", r["step_us"]), ("`Zone.frame()`", r["frame_us"])]
    return [
        f"{r['zones']} zones of {r['ships']} ships, {r['ticks']} ticks, per zone:",
        "",
        *_stats_table(rows, "µs"),
    ]


def render_battle(r: Result) -> list[str]:
    out = _stats_table(
        [
            (f"tick, {r['ships']:,} ships (wall)", r["ms_per_tick"]),
            ("tick (CPU)", r["cpu_ms_per_tick"]),
            ("the bench's own AI (outside the tick)", r["ai_ms"]),
        ]
    )
    stages = {k: v for k, v in in_schedule_order(r["systems_ms"]).items() if v > 0.0}
    out += [
        "",
        f"{r['ticks']} ticks: intents per tick {_num(r['intents_per_tick'], 1)}, shots "
        f"{_num(r['shots'])}, hits {_num(r['hits'])}, destroyed {_num(r['destroyed'])}, ships "
        f"left {_num(r['ships_left'])}. Stages with work (mean ms per tick):",
        "",
        *table(list(stages), [list(stages.values())], digits=3),
    ]
    return out


def render_agents(r: Result) -> list[str]:
    out = _stats_table(
        [
            (f"agents' work per tick, {r['agents']:,} NPCs (wall)", r["ms_per_tick"]),
            ("the same (CPU)", r["cpu_ms_per_tick"]),
            ("of which building views", r["view_ms_per_tick"]),
            (f"one retrieval over {r['memories']:,} memories", r["retrieval_ms"]),
        ]
    )
    by_count = sorted(r["actions"].items(), key=lambda kv: (-kv[1], kv[0]))
    actions = ", ".join(f"{k.lower()} {v:,}" for k, v in by_count)
    out += [
        "",
        f"{r['zones']} zones, {r['occupied_zones']} with players; per tick: "
        f"{_num(r['thinks_per_tick'])} thoughts ({_num(r['us_per_think'], 0)} µs each, "
        f"amortised), {_num(r['views_per_tick'])} views, {_num(r['intents_per_tick'])} intents, "
        f"{_num(r['hits_per_tick'])} hits. Decisions: {actions}.",
    ]
    return out


def render_economy(r: Result) -> list[str]:
    trades, prices, pop = r["trades_per_trader_hour"], r["price_ratio"], r["population"]
    credits, c = r["credits_in_circulation"], r.get("counters", {})
    rows = [
        ["clones (target) / systems", f"{r['agents']:,} / {r.get('systems', '—')}"],
        ["simulated hours", _num(r["simulated_hours"])],
        ["wall / CPU seconds", f"{_num(r['wall_seconds'], 1)} / {_num(r.get('cpu_seconds'), 1)}"],
        ["stranded fraction (> 5 min without reach of fuel)", _num(r["stranded_fraction"], 4)],
        [
            "trades per trader-hour: mean / min (traders below 1)",
            f"{_num(trades['mean'])} / {_num(trades['min'])} "
            f"({trades.get('below_one', '—')} of {trades.get('traders', '—')})",
        ],
        ["price / base: min / max", f"{_num(prices['min'])} / {_num(prices['max'])}"],
        ["ledger balanced (full audit)", "yes" if r["ledger_balanced"] else "**no**"],
        [
            "population: start / end (target; min-max)",
            f"{pop['start']:,} / {pop['end']:,} ({pop.get('target', '—'):,}; "
            f"{pop.get('min', '—'):,}-{pop.get('max', '—'):,})",
        ],
        ["deaths / births", f"{r['npc_deaths']:,} / {r['npc_births']:,}"],
        ["credits in circulation: start / end", f"{credits['start']:,} / {credits['end']:,}"],
    ]
    return [
        *table(["", ""], rows),
        "",
        f"Ledger transactions {c.get('transactions', 0):,}, completed trades "
        f"{c.get('trades', 0):,}, encounters {c.get('encounters', 0):,} (fights "
        f"{c.get('fights', 0):,}, escapes {c.get('escapes', 0):,}), distress calls "
        f"{c.get('distress_calls', 0):,} (rescues {c.get('rescues', 0):,}, tugs "
        f"{c.get('tugs', 0):,}), gossip {c.get('gossip', 0):,}, refused requests "
        f"{c.get('refused', 0):,}.",
    ]


def render_stack(r: Result) -> list[str]:
    rows = [
        [name, r[name].get("us_per_frame"), r[name].get("awaited_us_per_frame")]
        for name in ("aiohttp", "websockets")
    ]
    return [
        *table(
            ["stack", "µs CPU per frame, direct write (the gateway's path)", "awaited send"], rows
        ),
        "",
        f"{r['clients']} clients, {r['rounds']} frames of {r['frame_bytes']} bytes each; "
        f"websockets / aiohttp on the gateway's path: **{_num(r.get('ratio'))}×**.",
    ]


def render_footage(r: Result) -> list[str]:
    return table(
        [
            "ships",
            "intents/s",
            "bytes/min",
            "checkpoints bytes/min",
            "inputs bytes/min",
            "segments",
            "replays exactly",
        ],
        [
            [
                r["ships"],
                r["intents_per_s"],
                r["bytes_per_minute"],
                r["checkpoint_bytes_per_minute"],
                r["input_bytes_per_minute"],
                r["segments"],
                r["replay_exact"],
            ]
        ],
        digits=1,
    )


def render_net(r: Result) -> list[str]:
    out = _stats_table(
        [
            (f"server tick, {r['clients']:,} bots", r["tick_ms"]),
            ("interval between a bot's snapshots", r["snapshot_interval_ms"]),
        ]
    )
    out += [
        "",
        f"{r['connected']:,} of {r['clients']:,} connected for {_num(r['seconds'], 0)} s; "
        f"{_num(r['bytes_per_client_per_s'], 0)} bytes/s per client (JSON "
        f"{_num(r.get('json_bytes_per_client_per_s'), 0)}); {_num(r['snapshots'])} snapshots, "
        f"{_num(r['jumps'])} jumps, {_num(r['errors'])} errors.",
    ]
    return out


def render_crowd(r: Result) -> list[str]:
    """`callister bench crowd`: issue 17's crowd workload on a real server."""
    zones = r.get("zones", {})
    crowd, other = zones.get("crowd", {}), zones.get("other", {})
    out = _stats_table(
        [
            (
                f"interval between a client's updates, {r['clients']:,} clients",
                r["update_interval_ms"],
            ),
            ("crowded system's step (simulation + every view of it)", r["tick_ms"]),
        ]
    )
    out += [
        "",
        *table(
            [
                "connected",
                "updates/client/s",
                "bytes/update",
                "in view",
                "server CPU ms per client-s",
                "load generator CPU",
                "crowded system Hz (server)",
                "other system Hz (observer / server)",
            ],
            [
                [
                    f"{r['connected']:,} / {r['clients']:,}",
                    r["updates_per_client_per_s"],
                    r["bytes_per_update"],
                    r["visible_per_client"],
                    r["server_cpu_ms_per_client_s"],
                    f"{_num(r['loadgen_cpu_percent'], 0)} %",
                    _num(crowd.get("tick_hz_over_run", r.get("crowd_zone_tick_hz"))),
                    f"{_num(r['other_zone_tick_hz'])} / {_num(other.get('tick_hz_over_run'))}",
                ]
            ],
        ),
        "",
        f"Controls sent: {'on change' if r.get('inputs') == 'changes' else 'every input'} ("
        f"{_num(r.get('inputs_per_client_per_s'))} a second per client). "
        f"Server event loop: {r.get('event_loop', 'asyncio')}; load generator's: "
        f"{r.get('loadgen_loop', 'asyncio')}, {_num(r.get('workers'), 0)} processes. Crowded "
        f"system: {_num(crowd.get('overruns'), 0)} overruns (backlog dropped); other system: "
        f"{_num(other.get('overruns'), 0)}. Errors: {r.get('errors') or 'none'}."
        + _collections(r.get("gc") or {}),
    ]
    return out


def _collections(gc: dict[str, Any]) -> str:
    """The server's garbage collections over the run, when the report has them."""
    if not gc:
        return ""
    if not gc["collections"]:
        return " Garbage collections during the run: none."
    return (
        f" Garbage collections: {gc['collections']:,} ({gc['full_collections']} full, the "
        f"longest full one {_num(gc['full_pause_ms_max'])} ms), {_num(gc['paused_ms'])} ms "
        "paused in all."
    )


def render_cluster(r: Result) -> list[str]:
    rows = [
        ["hand-off between workers, p99 ms", r["handoff_ms"]["p99"], "≤ 100", r["handoff_met"]],
        [
            "CPU per player-second: cluster / one process",
            f"{_num(r['cpu_ms_per_player_s'])} / {_num(r.get('single_cpu_ms_per_player_s'))} ms "
            f"= {_num(r.get('cost_ratio'))}×",
            "≤ 1.3×",
            r.get("cost_met"),
        ],
        ["worst worker's tick, p99 ms", r["tick_ms"]["worst_worker"]["p99"], "", None],
    ]
    return [
        *table(["figure", "measured", "target", "met"], rows),
        "",
        f"{r['workers']} workers, {r['gateways']} gateways, {r['connected']} of {r['clients']} "
        f"bots connected, {r['zones']} zones; {r['handoff_ms']['count']} hand-offs (p50 "
        f"{_num(r['handoff_ms']['p50'])} ms).",
    ]


def render_cluster_zones(r: Result) -> list[str]:
    z = r["zone_scaling"]
    return table(
        ["busy zones, 1 worker", "2 workers", "ratio", "target", "p99 threshold ms", "met"],
        [
            [
                z["one_worker_zones"],
                z["two_worker_zones"],
                z["ratio"],
                z["target_ratio"],
                z["p99_threshold_ms"],
                z["met"],
            ]
        ],
    )


def render_views(r: Result) -> list[str]:
    b, rec, err = r["bytes_per_update"], r["records_per_update"], r["error_m"]
    rows = [("CPU per client per update", r["us_per_client_update"]),
            ("wall time per client per update", r["wall_us_per_client_update"])]  # fmt: skip
    header = ["clients", "in view", "bytes/update (mean)", "p99", "max",
              "records/update (new, updated, removed)", "drift error m (mean, p99, max)",
              "engine MiB"]  # fmt: skip
    figures = [r["clients"], r["visible_per_client"], b["mean"], b["p99"], b["max"],
               f"{rec['new']:.2f}, {rec['updated']:.2f}, {rec['removed']:.2f}",
               f"{err['mean']:.3f}, {err['p99']:.3f}, {err['max']:.3f}",
               r["engine_mib"]]  # fmt: skip
    return [
        *_stats_table(rows, unit="µs"),
        "",
        *table(header, [figures], digits=1),
        "",
        f"Sensor radius {_num(r['radius_m'], 0)} m, drift threshold {_num(r['threshold_m'])} m "
        f"(+ {_num(r['threshold_per_km'])} m per km), heading {_num(r['angle_deg'], 1)}°, "
        f"refresh every {r['refresh_ticks']} ticks; {r['ticks']} ticks measured.",
    ]


SECTIONS: Final[tuple[Section, ...]] = (
    Section("gen", ("gen", "--systems", "5000"), render_gen),
    Section(
        "sim-100k", ("sim", "--entities", "100000", "--ticks", "200", "--peer", "esper"), render_sim
    ),
    Section(
        "sim-10k", ("sim", "--entities", "10000", "--ticks", "200", "--peer", "esper"), render_sim
    ),
    Section(
        "sim-10k-autopilot",
        ("sim", "--entities", "10000", "--ticks", "200", "--autopilot", "1"),
        render_sim,
    ),
    Section("zones", ("zones", "--zones", "40", "--ships", "5", "--ticks", "200"), render_zones),
    Section("battle", ("battle", "--ships", "1000", "--ticks", "200"), render_battle),
    Section("agents", ("agents", "--agents", "10000"), render_agents),
    Section("stack", ("stack", "--clients", "200", "--rounds", "100"), render_stack),
    Section("footage", ("footage", "--ships", "200", "--seconds", "60"), render_footage),
    Section("views", ("views", "--clients", "1000", "--ticks", "200"), render_views),
    Section("crowd-250", ("crowd", "--clients", "250", "--seconds", "20"), render_crowd, False),
    Section("crowd-500", ("crowd", "--clients", "500", "--seconds", "20"), render_crowd, False),
    Section("crowd-1000", ("crowd", "--clients", "1000", "--seconds", "20"), render_crowd, False),
    Section("net-300", ("net", "--clients", "300", "--seconds", "20"), render_net),
    Section("net-1000", ("net", "--clients", "1000", "--seconds", "30"), render_net),
    Section(
        "cluster",
        ("cluster", "--workers", "2", "--gateways", "2", "--clients", "100", "--seconds", "30"),
        render_cluster,
    ),
    Section("cluster-zones", ("cluster", "--zones-only"), render_cluster_zones, default=False),
    Section(
        "economy",
        ("economy", "--agents", "2000", "--hours", "24"),
        render_economy,
        default=False,
    ),
)
BY_NAME: Final = {s.name: s for s in SECTIONS}


def render_summary(results: dict[str, Result]) -> list[str]:
    """The targets of the issues against the latest figures, each with the load average of
    the run it comes from (above 2 on this 2-core machine, wall-clock figures are inflated)."""
    rows: list[list[Any]] = []

    def got(name: str) -> Result | None:
        entry = results.get(name)
        return None if entry is None else entry["result"]

    def add(name: str, label: str, value: str, goal: str, met: bool | None) -> None:
        verdict = "—" if met is None else ("yes" if met else "**no**")
        rows.append([label, value, goal, verdict, results[name]["machine"]["load_before"]])

    if sim := got("sim-100k"):
        p99, ratio = sim["ms_per_tick"]["p99"], sim.get("ratio")
        add("sim-100k", "sim, 100,000 ships: p99 per tick", f"{p99:.2f} ms", "≤ 25 ms", p99 <= 25)
        add("sim-100k", "sim: faster than esper on the same workload (p50)", f"{_num(ratio)}×",
            "≥ 50×", None if ratio is None else ratio >= 50)  # fmt: skip
    if gen := got("gen"):
        rate = gen["systems_per_s"]
        add("gen", "generation", f"{rate:,.0f} systems/s", "≥ 5,000", rate >= 5000)
    if net := got("net-1000"):
        p99, rate = net["tick_ms"]["p99"], net["bytes_per_client_per_s"]
        add("net-1000", "net, 1,000 bots: server tick p99", f"{p99:.1f} ms", "≤ 50 ms", p99 <= 50)
        add("net-1000", "net, 1,000 bots: bytes per client", f"{rate:,.0f} B/s", "≤ 4 KB/s",
            rate <= 4000)  # fmt: skip
    if views := got("views"):
        us, size = views["us_per_client_update"]["p50"], views["bytes_per_update"]["mean"]
        add("views", f"views (v2), {views['clients']:,} clients: CPU per client per update",
            f"{us:.2f} µs", "≤ 20 µs", us <= 20)  # fmt: skip
        add("views", f"views (v2): bytes per update, {views['visible_per_client']:.0f} in view",
            f"{size:.0f} B", "≤ 600 B", size <= 600)  # fmt: skip
    if crowd := got("crowd-1000"):
        c, load = crowd, "crowd-1000"
        rate, p99 = c["updates_per_client_per_s"], c["update_interval_ms"]["p99"]
        add(load, f"crowd, {c['clients']:,} clients in one system: connected, updates/s",
            f"{c['connected']:,}, {_num(rate)}", "all, 20", c["connected"] == c["clients"]
            and rate >= 19.5)  # fmt: skip
        add(load, "crowd: p99 update interval", f"{_num(p99)} ms", "≤ 75 ms", p99 <= 75)
        add(load, "crowd: bytes per update", f"{_num(c['bytes_per_update'], 0)} B", "≤ 600 B",
            c["bytes_per_update"] <= 600)  # fmt: skip
        cpu = c["server_cpu_ms_per_client_s"]
        kept_up = rate >= 19.5  # a server that did not send the updates did not spend on them
        add(load, "crowd: server CPU per client-second",
            f"{_num(cpu)} ms" + ("" if kept_up else f" (at {_num(rate)} updates/s: not judged)"),
            "≤ 0.7 ms", None if cpu is None or not kept_up else cpu <= 0.7)  # fmt: skip
        hz = c["other_zone_tick_hz"]
        add(load, "crowd: the other system's tick rate", f"{_num(hz)} Hz", "20 Hz",
            None if hz is None else hz >= 19.5)  # fmt: skip
    if small := got("crowd-250"):
        cpu, rate = small["server_cpu_ms_per_client_s"], small["updates_per_client_per_s"]
        add("crowd-250", "crowd, 250 clients: updates/s, p99 interval, server CPU per client-s",
            f"{_num(rate)}, {_num(small['update_interval_ms']['p99'])} ms, {_num(cpu)} ms",
            "20, ≤ 75 ms, ≤ 0.7 ms", rate >= 19.5 and small["update_interval_ms"]["p99"] <= 75
            and cpu is not None and cpu <= 0.7)  # fmt: skip
    if battle := got("battle"):
        p99 = battle["ms_per_tick"]["p99"]
        add("battle", f"battle, {battle['ships']:,} ships in one system: p99 per tick",
            f"{p99:.2f} ms", "≤ 50 ms", p99 <= 50)  # fmt: skip
    if agents := got("agents"):
        t, p99 = agents["ms_per_tick"], agents["retrieval_ms"]["p99"]
        add("agents", f"agents, {agents['agents']:,} NPCs: per tick, amortised (mean / p99)",
            f"{t['mean']:.2f} / {t['p99']:.2f} ms", "≤ 5 ms", t["mean"] <= 5)  # fmt: skip
        add("agents", f"agents: one retrieval over {agents['memories']:,} memories (p99)",
            f"{p99:.2f} ms", "≤ 1 ms", p99 <= 1)  # fmt: skip
    if economy := got("economy"):
        e, n = economy, f"{economy['agents']:,} clones x {_num(economy['simulated_hours'])} h"
        t = e["trades_per_trader_hour"]
        p, pop = e["price_ratio"], e["population"]
        near = abs(pop["end"] - pop["target"]) <= 0.2 * pop["target"]
        add("economy", f"economy, {n}: stranded fraction", _num(e["stranded_fraction"], 4),
            "0", e["stranded_fraction"] == 0)  # fmt: skip
        add("economy", "economy: every trader ≥ 1 trade per hour (min)", _num(t["min"]), "≥ 1",
            t["min"] >= 1)  # fmt: skip
        add("economy", "economy: price / base (min-max)", f"{_num(p['min'])}-{_num(p['max'])}",
            "0.5-2", p["min"] >= 0.5 and p["max"] <= 2)  # fmt: skip
        add("economy", "economy: ledger balanced; population within ±20 %",
            f"{e['ledger_balanced']}; {pop['end']:,}/{pop['target']:,}", "yes; ±20 %",
            e["ledger_balanced"] and near)  # fmt: skip
        add("economy", "economy: wall clock (CPU)",
            f"{e['wall_seconds']:,.0f} s ({_num(e.get('cpu_seconds'), 0)} s)", "≤ 600 s",
            e["wall_seconds"] <= 600)  # fmt: skip
    if cluster := got("cluster"):
        p99 = cluster["handoff_ms"]["p99"]
        add("cluster", "cluster: hand-off p99", f"{p99:.1f} ms", "≤ 100 ms", cluster["handoff_met"])
        add("cluster", "cluster: CPU per player vs one process",
            f"{_num(cluster.get('cost_ratio'))}×", "≤ 1.3×", cluster.get("cost_met"))  # fmt: skip
    if zones := got("cluster-zones"):
        z = zones["zone_scaling"]
        add("cluster-zones", "cluster: busy zones, 2 workers vs 1", f"{z['ratio']}×", "≥ 1.7×",
            z["met"])  # fmt: skip
    return table(["target", "measured", "goal", "met?", "load average"], rows, digits=1)


def render_block(name: str, results: dict[str, Result]) -> list[str]:
    """The Markdown of one generated block (the summary, or a section's command and figures)."""
    if name == "summary":
        return render_summary(results)
    entry = results.get(name)
    if entry is None:
        return [f"*(not measured yet: `callister bench report --only {name}`)*"]
    machine = entry["machine"]
    return [
        "```",
        f"$ {entry['command']}",
        "```",
        "",
        f"*{entry['date']}, {machine['cpus']} CPUs, Python {machine['python']}, load average "
        f"{machine['load_before']:.1f} when it started.*",
        "",
        *BY_NAME[name].render(entry["result"]),
    ]


# ------------------------------------------------------------------------------ the doc
_BLOCK = re.compile(
    r"(?P<open><!-- bench-report:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)"
    r"(?P<close><!-- /bench-report:(?P=name) -->)",
    re.DOTALL,
)


def block_names(doc: str) -> list[str]:
    """The generated blocks the doc has, in order."""
    return [m["name"] for m in _BLOCK.finditer(doc)]


def render_doc(doc: str, results: dict[str, Result]) -> str:
    """The doc with every generated block re-rendered from `results`; ReportError for a block
    that names no section, or a marker left unclosed."""
    opened = re.findall(r"<!-- bench-report:([a-z0-9-]+) -->", doc)
    names = block_names(doc)
    if opened != names:
        raise ReportError(
            f"unclosed or nested bench-report markers: {sorted(set(opened) - set(names))}"
        )
    for name in names:
        if name != "summary" and name not in BY_NAME:
            raise ReportError(
                f"block {name!r} in the doc names no benchmark; known: {sorted(BY_NAME)}"
            )

    def fill(m: re.Match[str]) -> str:
        body = "\n".join(render_block(m["name"], results))
        return f"{m['open']}{body}\n{m['close']}"

    return _BLOCK.sub(fill, doc)


# ------------------------------------------------------------------------------ running
def machine(load: float) -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": load}


def run_section(section: Section) -> Result:
    """Run one benchmark as its own process; its JSON result. Progress goes to stderr."""
    print(f"[bench report] {section.command}", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "callister", "bench", *section.args, "--json"]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise ReportError(f"`{section.command}` exited with {done.returncode}")
    try:
        result: Result = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ReportError(f"`{section.command}` printed no JSON: {exc}") from None
    return result


def load_results(path: Path) -> dict[str, Result]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ReportError(f"{path} is not a JSON object of results")
    return data


def choose(only: Sequence[str] | None, everything: bool) -> list[Section]:
    """The sections to run: `only` (by name), else every default one (or all with
    `everything`). ReportError for an unknown name."""
    if only:
        unknown = [n for n in only if n not in BY_NAME]
        if unknown:
            raise ReportError(f"unknown benchmark(s) {unknown}; known: {sorted(BY_NAME)}")
        return [BY_NAME[n] for n in only]
    return [s for s in SECTIONS if s.default or everything]


def run_report(
    sections: Sequence[Section],
    *,
    doc: Path = DOC,
    results_path: Path = RESULTS,
    runner: Callable[[Section], Result] = run_section,
) -> list[str]:
    """Run `sections`, store each result in `results_path` as soon as it is in, then rewrite the
    doc's blocks from the results. Returns the names of the sections that failed (their earlier
    results are kept; the others are written anyway)."""
    text = doc.read_text()
    render_doc(text, load_results(results_path))  # fail on a broken doc before hours of work
    failed = []
    for section in sections:
        results = load_results(results_path)
        load = os.getloadavg()[0]
        try:
            result = runner(section)
        except ReportError as exc:
            print(f"[bench report] {exc}", file=sys.stderr)
            failed.append(section.name)
            continue
        results[section.name] = {
            "command": section.command,
            "date": dt.date.today().isoformat(),
            "machine": machine(load),
            "result": result,
        }
        results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    doc.write_text(render_doc(text, load_results(results_path)))
    return failed
