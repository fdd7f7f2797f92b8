"""``bench/results.json``: the figures of one ``make bench`` run, each beside its baseline.

The shape is issue 13's: ``{"machine": {...}, "figures": [{"name", "value", "unit", "baseline":
{"name", "value"}, "ratio", "target"}]}``. ``ratio`` is value / baseline, both measured in the
same run (medians of several repetitions where the script repeats); ``target`` is one of
``ratio_min``, ``ratio_max``, ``min``, ``max`` (or null where the issue sets none), and ``met``
says whether this run reached it. Figures only: the machine is shared and noisy, so compare
within one run, never across runs or machines.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``baseline_value`` is 0 when the figure has no baseline."""

    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline_value: float = 0.0
    target: dict[str, float] | None = None
    samples: tuple[float, ...] = ()
    baseline_samples: tuple[float, ...] = ()
    source: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline_value if self.baseline_value else None

    @property
    def met(self) -> bool | None:
        """Whether this run reached the target (None: no target)."""
        if not self.target:
            return None
        (kind, bound), = self.target.items()
        measured = self.ratio if kind.startswith("ratio") else self.value
        if measured is None:
            return None
        return measured >= bound if kind.endswith("min") else measured <= bound

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "baseline": ({"name": self.baseline_name, "value": round(self.baseline_value, 3)}
                         if self.baseline_value else None),
            "ratio": round(self.ratio, 3) if self.ratio is not None else None,
            "target": self.target,
            "met": self.met,
            "samples": [round(s, 3) for s in self.samples],
            "baseline_samples": [round(s, 3) for s in self.baseline_samples],
            "source": self.source,
        }


def paired(name: str, unit: str, ours: list[float], baseline_name: str, bare: list[float], *,
           target: dict[str, float] | None = None, source: str = "") -> Figure:
    """A figure from repeated measurements of ours and of the baseline: the medians."""
    return Figure(name, statistics.median(ours), unit, baseline_name,
                  statistics.median(bare) if bare else 0.0, target, tuple(ours), tuple(bare),
                  source)


@dataclass
class Run:
    """Everything one run measured, and the machine it ran on."""

    machine: dict[str, Any] = field(default_factory=lambda: machine())
    figures: list[Figure] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # tables of scripts not yet in figures

    def write(self, path: Path = RESULTS) -> None:
        self.machine["load_average_end"] = round(os.getloadavg()[0], 2)
        self.machine["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        data = {"machine": self.machine, "figures": [f.as_json() for f in self.figures],
                "logs": self.logs}
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mib() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse",
                              "--short", "HEAD"], capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, memory, Python, SQLite, and the load at start."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mib": _memory_mib(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": _commit(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_start": round(os.getloadavg()[0], 2),
    }


def _number(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def table(figures: list[Figure]) -> str:
    """The figures as a fixed-width table: ours, the baseline, the ratio and the target."""
    width = max((len(f.name) for f in figures), default=10)
    base_width = max((len(f.baseline_name) for f in figures), default=8)
    lines = [f"{'figure':<{width}}  {'value':>14}  {'baseline':<{base_width}}  {'bare':>14}  "
             f"{'ratio':>6}  target"]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        bare = _number(f.baseline_value, f.unit) if f.baseline_value else ""
        target = ""
        if f.target:
            (kind, bound), = f.target.items()
            target = f"{kind.replace('_', ' ')} {bound:g} {'ok' if f.met else 'MISSED'}"
        lines.append(f"{f.name:<{width}}  {_number(f.value, f.unit):>14}  "
                     f"{f.baseline_name:<{base_width}}  {bare:>14}  {ratio:>6}  {target}")
    return "\n".join(lines)
