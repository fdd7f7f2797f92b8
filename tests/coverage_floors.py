"""Hold each package to its line-coverage floor: ``python tests/coverage_floors.py DATA_FILE``.

``make test`` runs it after the suite, on the data pytest-cov wrote; the floors are
``[tool.kennisknoop.coverage-floors]`` in pyproject.toml (the overall floor is coverage's own
``fail_under``). Prints one line with every figure; exits 1 naming each package below its floor.
"""

from __future__ import annotations

import io
import sys
import tomllib
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def floors() -> dict[str, float]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return {name: float(value)
            for name, value in config["tool"]["kennisknoop"]["coverage-floors"].items()}


def measured(data_file: str, package: str | None) -> float:
    """The line coverage (%) of ``package`` (None: everything measured) in ``data_file``."""
    cov = coverage.Coverage(data_file=data_file, config_file=str(PYPROJECT))
    cov.load()
    include = None if package is None else [str(ROOT / package / "*")]
    try:
        return cov.report(include=include, file=io.StringIO())
    except coverage.exceptions.NoDataError:  # nothing of the package ran at all
        return 0.0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data_file = argv[1]
    figures = {"total": measured(data_file, None)}
    below = []
    for package, floor in floors().items():
        figures[package] = measured(data_file, package)
        if figures[package] < floor:
            below.append(f"{package} {figures[package]:.1f} % is below its floor {floor:g} %")
    print("line coverage: " + ", ".join(f"{name} {pct:.1f} %" for name, pct in figures.items()))
    for line in below:
        print(f"coverage too low: {line}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
