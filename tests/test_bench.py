"""bench/results.py and ``make bench``: the shape of bench/results.json (issue 13), kept out of git
and out of ``make test``."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from bench.results import Figure, Run, paired, table

ROOT = Path(__file__).resolve().parent.parent


def test_a_figure_is_written_in_the_issues_shape_with_medians_and_the_ratio() -> None:
    figure = paired("create: items/s", "items/s", [10.0, 30.0, 20.0], "bare endpoint",
                    [40.0, 50.0, 60.0], target={"ratio_min": 0.5})
    data = figure.as_json()
    assert {"name", "value", "unit", "baseline", "ratio", "target"} <= set(data)
    assert data["value"] == 20.0 and data["baseline"] == {"name": "bare endpoint", "value": 50.0}
    assert data["ratio"] == 0.4 and data["target"] == {"ratio_min": 0.5} and data["met"] is False


def test_targets_are_checked_in_their_direction() -> None:
    assert Figure("p95", 40.0, "ms", target={"max": 50}).met is True
    assert Figure("ratio", 4.0, "ms", "bare", 1.0, target={"ratio_max": 3}).met is False
    assert Figure("no target", 1.0, "/s").met is None


def test_a_run_writes_the_machine_and_the_figures(tmp_path: Path) -> None:
    run = Run()
    run.figures.append(Figure("read", 600.0, "GETs/s", "bare GET", 1000.0,
                              target={"ratio_min": 0.6}))
    run.write(tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["machine"]["cores"] and "load_average_end" in data["machine"]
    assert data["figures"][0]["ratio"] == 0.6 and data["figures"][0]["met"] is True
    assert "read" in table(run.figures) and "ok" in table(run.figures)


def test_results_json_is_ignored_by_git_and_bench_is_not_part_of_make_test() -> None:
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q",
                              "bench/results.json"], check=False)
    assert ignored.returncode == 0
    makefile = (ROOT / "Makefile").read_text()
    test_recipe = re.search(r"^test:.*?(?=^\S)", makefile, re.S | re.M)
    assert test_recipe is not None and "bench" not in test_recipe.group(0)
    assert re.search(r"^bench:.*\n\t.*-m bench\.run", makefile, re.M)


def test_search_lines_become_figures_with_both_of_the_issues_targets() -> None:
    from bench.run import search_figures

    output = ("sqlite 100,000   1 word             ours p50   20.1 p95   44.0 p99   60.0 ms | bare "
              "p50  10.0 p95  22.0 p99  30.0 ms | p95 ratio  2.0 | engine p95  30.0 ms, ratio  1.5"
              " | median hits 12\n")
    figures = search_figures(output, "cpu", "bench/search.py")
    assert [f.target for f in figures] == [{"max": 50.0}, {"ratio_max": 3.0}]
    assert figures[0].name == "search p95, sqlite 100,000 items, 1 word [cpu]"
    assert figures[0].value == 44.0 and figures[0].baseline_value == 22.0
    assert figures[0].met is True and figures[1].ratio == 2.0 and figures[1].met is True


def test_search_rows_the_issue_sets_no_target_for_carry_none() -> None:
    from bench.run import search_figures

    tail = ("ours p50   2.1 p95   4.4 p99   6.0 ms | bare p50  0.5 p95  0.6 p99  0.9 ms | p95 "
            "ratio  7.3 | engine p95  3.0 ms, ratio  5.0 | median hits 12\n")
    figures = search_figures(f"sqlite 10,000   2 words   {tail}postgres 10,000   2 words   "
                             f"{tail}", "cpu", "bench/search.py")
    assert [f.name for f in figures] == ["search p95, sqlite 10,000 items, 2 words [cpu]",
                                         "search p95, postgres 10,000 items, 2 words [cpu]"]
    assert [f.target for f in figures] == [None, None] and figures[0].met is None


def test_the_peer_row_is_ours_beside_the_herds_with_ours_at_least_theirs_as_target() -> None:
    from bench import peer, run

    assert "peer" in run.PARTS
    ours = peer.Samples(wall=[90.0, 110.0, 100.0], cpu=[200.0, 180.0, 190.0])
    herd = peer.Samples(wall=[40.0, 50.0, 45.0], cpu=[60.0, 50.0, 55.0])
    wall, cpu = peer.figures(ours, herd, peer.QUICK)
    assert wall.value == 100.0 and wall.baseline_value == 45.0 and "bovine-herd" in wall.baseline_name
    assert wall.target == {"ratio_min": 1.0} and wall.met is True and wall.source == "bench/peer.py"
    assert cpu.name.endswith("[CPU]") and cpu.value == 190.0 and cpu.target is None
    slower = peer.figures(peer.Samples([30.0], [40.0]), herd, peer.QUICK)[0]
    assert slower.met is False


def test_a_servers_cpu_seconds_are_read_from_proc() -> None:
    from bench.peer import cpu_seconds

    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(200_000))  # some CPU work
    assert cpu_seconds(os.getpid()) >= before > 0


def test_growth_lines_are_figures_and_a_shared_inbox_must_take_one_post() -> None:
    from bench import growth, run

    assert {"growth", "postgres"} <= set(run.PARTS)
    wall, cpu = growth._delivery_figures("1,000 follower inboxes", 1000, 1000, 20.0, 4.0)
    assert wall.name == "growth: delivery of 1 item to 1,000 follower inboxes, 1,000 POSTs"
    assert (wall.value, wall.unit, cpu.value) == (20_000.0, "ms", 4_000.0)
    assert wall.baseline_value == 0.0 and wall.met is None
    with pytest.raises(RuntimeError, match="expected 1"):
        growth._delivery_figures("1,000 followers on one server (shared inbox)", 1, 1000, 1.0, 1.0)


@pytest.mark.postgres
def test_the_federation_rows_run_on_postgresql_at_tiny_sizes() -> None:
    from bench import federation, run

    figures = run._federation_figures(True, pg=True, sizes=federation.TINY)
    names = [f.name for f in figures]
    for row in ("propagate 1 item to   1 follower nodes", "delivery: signed POSTs/s",
                "inbox: the worker applies", "backfill 6 items"):
        assert any(row in name for name in names), row
    assert all(name.endswith("(PostgreSQL)") for name in names)
    assert all(f.target is None and f.value > 0 for f in figures)
    assert all(f.source == "bench/federation.py --quick --postgres" for f in figures)


@pytest.mark.postgres
def test_import_storage_and_memory_run_on_postgresql_at_tiny_sizes() -> None:
    from bench import run

    figures = {f.name: f for f in run._import_figures(12, pg=True)}
    assert all(name.endswith("(PostgreSQL)") for name in figures)
    imported = [f for name, f in figures.items() if name.startswith("import: items/s")]
    assert len(imported) == 2 and all(f.value > 0 and f.baseline_value > 0 for f in imported)
    [stored] = [f for name, f in figures.items() if name.startswith("storage: PostgreSQL")]
    assert stored.value > stored.baseline_value > 0  # bytes per item beside its JSON-LD
    [served] = [f for name, f in figures.items() if name.startswith("memory: RSS after")]
    assert served.value > 0 and all(f.target is None for f in figures.values())
