"""tests/coverage_floors.py: each package is held to its own floor, read from pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import coverage
import pytest

from tests.coverage_floors import ROOT, floors, main


def write_data(path: Path, lines: dict[str, set[int]]) -> str:
    data = coverage.CoverageData(basename=str(path))
    data.add_lines({str(ROOT / name): sorted(numbers) for name, numbers in lines.items()})
    data.write()
    return str(path)


def test_floors_name_both_packages_as_percentages() -> None:
    assert set(floors()) == {"protocol", "node"}
    assert all(0 < floor <= 100 for floor in floors().values())


def test_a_package_below_its_floor_fails_naming_it(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    source = (ROOT / "protocol" / "vocab.py").read_text(encoding="utf-8").splitlines()
    every_line = set(range(1, len(source) + 1))
    data_file = write_data(tmp_path / ".coverage", {"protocol/vocab.py": every_line})
    assert main(["coverage_floors.py", data_file]) == 1
    out, err = capsys.readouterr()
    assert "protocol 100.0 %" in out
    assert "node 0.0 % is below its floor" in err
    assert "protocol" not in err
