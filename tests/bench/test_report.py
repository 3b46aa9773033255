"""The benchmark report: docs/benchmarks.md shows exactly what docs/benchmarks.json holds, every
command it lists is a valid `callister bench` command, and a run rewrites only its blocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.test_cli import cli

from callister.bench import report
from callister.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "docs" / "benchmarks.json"


def test_the_doc_shows_what_the_results_hold() -> None:
    doc = DOC.read_text()
    assert report.render_doc(doc, report.load_results(RESULTS)) == doc, (
        "docs/benchmarks.md is stale: `callister bench report --render-only` (or run the "
        "benchmarks: `make bench-report`)"
    )


def test_every_section_has_a_block_and_a_valid_command() -> None:
    names = report.block_names(DOC.read_text())
    assert names[0] == "summary"
    assert sorted(names[1:]) == sorted(report.BY_NAME)  # each benchmark shows up once
    parser = build_parser()
    for section in report.SECTIONS:
        args = parser.parse_args(["bench", *section.args, "--json"])
        assert args.json and callable(args.func), section.command


def test_every_stored_result_is_from_its_command() -> None:
    for name, entry in report.load_results(RESULTS).items():
        assert entry["command"] == report.BY_NAME[name].command, name
        assert entry["machine"]["cpus"] >= 1 and entry["date"]


def _doc(tmp_path: Path) -> Path:
    doc = tmp_path / "bench.md"
    doc.write_text(
        "# B\n\nprose stays\n<!-- bench-report:summary -->\nold\n<!-- /bench-report:summary -->\n"
        "more prose\n<!-- bench-report:gen -->\nold figures\n<!-- /bench-report:gen -->\nend\n"
    )
    return doc


GEN = {
    "systems": 10,
    "systems_per_s": 6000.0,
    "seconds": 0.002,
    "links_per_system": 4.0,
    "empty_fraction": 0.6,
    "rocks_per_system": 20.0,
}


def test_a_run_stores_the_result_and_rewrites_only_the_blocks(tmp_path: Path) -> None:
    doc, results = _doc(tmp_path), tmp_path / "results.json"
    ran: list[str] = []

    def runner(section: report.Section) -> dict[str, Any]:
        ran.append(section.name)
        return GEN

    failed = report.run_report(
        [report.BY_NAME["gen"]], doc=doc, results_path=results, runner=runner
    )
    assert failed == [] and ran == ["gen"]
    stored = json.loads(results.read_text())["gen"]
    assert stored["command"] == "callister bench gen --systems 5000 --json"
    assert stored["result"] == GEN
    text = doc.read_text()
    assert "old" not in text and text.count("prose") == 2 and text.endswith("end\n")
    assert "$ callister bench gen --systems 5000 --json" in text
    assert "| 10 | 6,000.00 |" in text  # the gen table
    assert "| generation | 6,000 systems/s | ≥ 5,000 | yes |" in text  # the summary


def test_a_failed_benchmark_keeps_its_earlier_figures(tmp_path: Path) -> None:
    doc, results = _doc(tmp_path), tmp_path / "results.json"
    report.run_report([report.BY_NAME["gen"]], doc=doc, results_path=results, runner=lambda s: GEN)

    def broken(section: report.Section) -> dict[str, Any]:
        raise report.ReportError("exited with 1")

    failed = report.run_report(
        [report.BY_NAME["gen"]], doc=doc, results_path=results, runner=broken
    )
    assert failed == ["gen"]
    assert json.loads(results.read_text())["gen"]["result"] == GEN
    assert "6,000.00" in doc.read_text()


def test_bad_markers_and_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(report.ReportError, match="unclosed"):
        report.render_doc("<!-- bench-report:gen -->\nno end\n", {})
    with pytest.raises(report.ReportError, match="names no benchmark"):
        report.render_doc("<!-- bench-report:nope -->\n<!-- /bench-report:nope -->", {})
    with pytest.raises(report.ReportError, match="unknown benchmark"):
        report.choose(["gen", "nope"], everything=False)
    assert [s.name for s in report.choose(None, everything=False)] == [
        s.name for s in report.SECTIONS if s.default
    ]
    assert len(report.choose(None, everything=True)) == len(report.SECTIONS)


@pytest.mark.parametrize("bench", ["zones", "footage", "agents", "report"])
def test_the_new_bench_commands_have_help(bench: str) -> None:
    out = cli("bench", bench, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout, out.stderr


def test_report_lists_its_commands_and_refuses_unknown_names() -> None:
    out = cli("bench", "report", "--list", "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [s["name"] for s in listed] == [s.name for s in report.SECTIONS]
    bad = cli("bench", "report", "--only", "gen,nope")
    assert bad.returncode == 2 and "unknown benchmark" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
    zero = cli("bench", "zones", "--zones", "0")
    assert zero.returncode == 2 and "--zones" in zero.stderr and "Traceback" not in zero.stderr
