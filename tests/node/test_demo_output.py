"""What ``make demo`` prints once its nodes run (issue 12): one line per node to click, with the
node's name, its full home page URL and the user and password to sign in with, on every start.

No server is started: ``prepare`` initialises and fills real node directories, and
``sign_in_lines``/``describe`` are what ``run`` prints once the nodes answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from node.demo import ADMIN, NODES, PASSWORD_FILE, RunningNode, describe, prepare, sign_in_lines

URL = re.compile(r"http://127\.0\.0\.1:[0-9]+/(?=\s)")


def test_one_clickable_line_per_node_with_name_and_sign_in() -> None:
    nodes = [RunningNode(spec, Path("/demo") / spec.handle, f"http://127.0.0.1:{8000 + i}",
                         f"pw-{spec.handle}") for i, spec in enumerate(NODES)]
    lines = sign_in_lines(nodes)
    assert len(lines) == len(NODES)
    for index, (line, spec) in enumerate(zip(lines, NODES, strict=True)):
        assert URL.findall(line) == [f"http://127.0.0.1:{8000 + index}/"]
        assert spec.name in line
        assert f"user {ADMIN}, password pw-{spec.handle}" in line
    assert "(Fryslân)" in lines[0] and "(Drenthe)" in lines[1]  # the province, not PV21
    assert "http://127.0.0.1:8000/aanmelden" in describe(nodes[0])


def test_the_password_is_printed_again_on_the_next_start(tmp_path: Path) -> None:
    # Given a demo node created once
    spec = NODES[2]  # the aggregator: no demo file to import, the quickest to prepare
    first = prepare(spec, tmp_path / spec.handle, 8002)
    assert first.password and first.created
    kept = tmp_path / spec.handle / PASSWORD_FILE
    assert kept.stat().st_mode & 0o077 == 0  # the owner's only
    # When the demo starts again on the same directory
    again = prepare(spec, tmp_path / spec.handle, 8002)
    # Then it knows the same password and prints it in the node's line
    assert again.password == first.password
    assert not again.created  # so it does not follow the other nodes a second time
    assert f"password {first.password}" in sign_in_lines([again])[0]


def test_a_demo_made_before_the_password_was_kept_says_what_to_do(tmp_path: Path) -> None:
    node = RunningNode(NODES[0], tmp_path / "fryslan", "http://127.0.0.1:8000", None)
    line = sign_in_lines([node])[0]
    assert "http://127.0.0.1:8000/" in line
    assert f"kennisknoop user add {tmp_path / 'fryslan'} NAME --role admin" in line
