"""The ``kennisknoop`` command line, run as users run it: a subprocess per command.

Happy paths share one node initialised once per module (copied for tests that change it). Each
error path must print exactly one line on stderr, no traceback, and exit with 1 (2 for usage).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from node.cli import load, main, open_context, slugify
from node.config import CONFIG_FILE
from node.services.items import ItemQuery, list_items, theme_and_narrower
from node.services.users import caller_for_token
from node.store import actors as actor_store
from tests import dbs
from tests.node.web.api_helpers import insert_remote_item

DATA = Path(__file__).resolve().parents[2] / "node" / "data"
NAME = "Doarpswurk Fryslân"
URL = "http://127.0.0.1:8765"


def environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    env.update(extra)
    return env


def kennisknoop(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node.cli", *map(str, args)], input=stdin,
                          capture_output=True, text=True, env=env or environ(), cwd=cwd,
                          timeout=60)


def init(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return kennisknoop("init", directory, "--url", URL, "--name", NAME, "--province", "PV21",
                       *extra)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli") / "node"
    result = init(directory)
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture
def node_dir(initialised: Path, tmp_path: Path) -> Path:
    """A private copy of the initialised node (its SQLite file lives in the directory)."""
    return Path(shutil.copytree(initialised, tmp_path / "node"))


def test_slug_of_a_name_is_a_valid_handle() -> None:
    assert slugify("Doarpswurk Fryslân") == "doarpswurk-fryslan"
    assert slugify("  BOKD — Drenthe! ") == "bokd-drenthe"


async def test_init_writes_the_config_and_creates_the_node_actor(initialised: Path) -> None:
    settings = load(initialised)
    assert settings.node.url == URL and settings.node.handle == "doarpswurk-fryslan"
    assert settings.node.province_code == "PV21"
    async with open_context(settings) as ctx, ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
    assert node is not None and node.ap_id == f"{URL}/actors/doarpswurk-fryslan"
    assert node.rsa_public_pem and node.ed_public_multibase


def test_migrate_on_an_up_to_date_database_succeeds(initialised: Path) -> None:
    result = kennisknoop("migrate", initialised)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


async def test_user_add_then_token_gives_a_working_bearer_token(node_dir: Path) -> None:
    added = kennisknoop("user", "add", node_dir, "beheerder", "--role", "admin",
                        "--password-stdin", stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    token = kennisknoop("token", node_dir, "beheerder")
    assert token.returncode == 0, token.stderr
    async with open_context(load(node_dir)) as ctx:
        caller = await caller_for_token(ctx, token.stdout.strip())
    assert (caller.username, caller.role) == ("beheerder", "admin")


def test_import_then_export_writes_every_document(node_dir: Path, tmp_path: Path) -> None:
    demo = json.loads((DATA / "demo-fryslan.json").read_text(encoding="utf-8"))
    imported = kennisknoop("import", node_dir, DATA / "demo-fryslan.json")
    assert imported.returncode == 0, imported.stderr
    assert f"{len(demo['items'])} items created" in imported.stdout
    exported = kennisknoop("export", node_dir, tmp_path / "export.json")
    assert exported.returncode == 0, exported.stderr
    export = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    assert export["node"]["id"] == f"{URL}/actors/doarpswurk-fryslan"
    assert len(export["initiatives"]) == len(demo["initiatives"])
    assert len(export["items"]) == len(demo["items"])
    assert all("proof" in doc for doc in export["items"])


def test_import_with_bad_rows_lists_every_row_and_imports_nothing(node_dir: Path,
                                                                  tmp_path: Path) -> None:
    csv_file = tmp_path / "initiatieven.csv"
    csv_file.write_text("handle,name,phase\ngoed-dorp,Goed Dorp,idea\n-fout,Fout,idea\n"
                        "ook-fout,Ook Fout,bloeiend\n", encoding="utf-8")
    result = kennisknoop("import", node_dir, csv_file)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("kennisknoop: row 3: handle")
    assert lines[1].startswith("kennisknoop: row 4: phase")
    assert "nothing was imported" in lines[2]
    export = kennisknoop("export", node_dir, "-")
    assert json.loads(export.stdout)["initiatives"] == []


def test_import_dry_run_of_an_item_file_stores_nothing(node_dir: Path) -> None:
    result = kennisknoop("import", node_dir, DATA / "demo-fryslan.json", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run: every row is valid" in result.stdout
    assert json.loads(kennisknoop("export", node_dir, "-").stdout)["initiatives"] == []


def test_inventory_import_with_a_mapping_dry_run_then_import_then_again(node_dir: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "deploy" / "import"
    args = ("import", node_dir, sample / "inventaris-voorbeeld.csv", "--map",
            sample / "mapping.toml")
    dry = kennisknoop(*args, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # rows were refused
    refused = [line for line in dry.stdout.splitlines() if line.startswith("refused:")]
    assert refused == [
        "refused: row 5: bad_value [legal_form]: legal_form: must be one of association, "
        "cooperative, foundation, informal, residents-company",
        "refused: row 6: required [name]: name: required (the handle is made from it)",
        "refused: row 7: bad_date [founded]: founded: must not be in the future"]
    assert "3 initiatives would be created" in dry.stdout and dry.stderr == ""
    assert json.loads(kennisknoop("export", node_dir, "-").stdout)["initiatives"] == []
    done = kennisknoop(*args)
    assert "3 initiatives created, 0 exist already" in done.stdout
    again = kennisknoop(*args)
    assert "0 initiatives created, 3 exist already" in again.stdout
    assert len(json.loads(kennisknoop("export", node_dir, "-").stdout)["initiatives"]) == 3
    bad = kennisknoop("import", node_dir, sample / "mapping.toml", "--map", sample / "mapping.toml")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "is a .csv file" in bad.stderr


@pytest.mark.postgres
async def test_init_on_postgresql(tmp_path: Path) -> None:
    dbs.require_postgres()
    url = dbs.create_pg_database("kk_cli")
    try:
        result = init(tmp_path / "node", "--database", url, "--handle", "fryslan")
        assert result.returncode == 0, result.stderr
        async with open_context(load(tmp_path / "node")) as ctx, ctx.db.sessions() as session:
            node = await actor_store.get_node(session)
        assert node is not None and node.handle == "fryslan"
    finally:
        dbs.drop_pg_database(url)


# --- error paths: one line on stderr, exit status 1 (2 for usage), never a traceback -------------
# Every case runs in-process through ``main`` (an uncaught exception would fail the test); a few
# also run as real processes, started together, to check what a shell sees.

ERROR_CASES: dict[str, tuple[int, str]] = {
    # name: (exit status, text the last line must contain)
    "config_exists": (1, "already exists"),
    "no_config": (1, "kennisknoop init"),
    "bad_environment_value": (1, "KENNISKNOOP_SERVER_PORT"),
    "database_unreachable": (1, "cannot use the database"),
    "unsupported_database": (1, "not supported"),
    "unknown_user": (1, "no user"),
    "short_password": (1, "password"),
    "missing_import_file": (1, "cannot read"),
    "broken_json": (1, "not valid JSON"),
    "bad_province": (1, "--province"),
    "bad_handle": (1, "handle"),
    "unknown_role": (2, "invalid choice"),
    "no_command": (2, "required"),
}
IN_SUBPROCESS = ("no_config", "database_unreachable", "unknown_role")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""


@pytest.fixture(scope="module")
def cases(initialised: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    work = tmp_path_factory.mktemp("errors")
    (work / "broken.json").write_text("{", encoding="utf-8")
    (work / "empty").mkdir()
    node, init_args = str(initialised), ("--url", URL, "--name", NAME)
    found = {
        "config_exists": Case(("init", node, *init_args)),
        "no_config": Case(("migrate", str(work / "empty"))),
        "bad_environment_value": Case(("token", node, "x"),
                                      env={"KENNISKNOOP_SERVER_PORT": "eighty"}),
        "database_unreachable": Case(("migrate", node), env={
            "KENNISKNOOP_DATABASE_URL": "postgresql+psycopg://kk@127.0.0.1:1/nowhere"}),
        "unsupported_database": Case(("migrate", node),
                                     env={"KENNISKNOOP_DATABASE_URL": "mysql://kk@db/kk"}),
        "unknown_user": Case(("token", node, "niemand")),
        "short_password": Case(("user", "add", node, "kort", "--role", "editor",
                                "--password-stdin"), stdin="kort\n"),
        "missing_import_file": Case(("import", node, str(work / "missing.json"))),
        "broken_json": Case(("import", node, str(work / "broken.json"))),
        "bad_province": Case(("init", str(work / "province"), *init_args, "--province", "PV99")),
        "bad_handle": Case(("init", str(work / "handle"), *init_args, "--handle=-x-")),
        "unknown_role": Case(("user", "add", node, "koning", "--role", "king")),
        "no_command": Case(()),
    }
    assert set(found) == set(ERROR_CASES)
    return found


def check_error(case: str, status: int, stderr: str) -> None:
    expected_status, text = ERROR_CASES[case]
    assert status == expected_status, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    if status == 1:
        assert len(lines) == 1, stderr
    assert lines[-1].startswith("kennisknoop") and ": error: " in lines[-1]
    assert text in lines[-1]


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_is_one_line_and_an_exit_status(
        cases: dict[str, Case], case: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = cases[case]
    for name in [n for n in os.environ if n.startswith("KENNISKNOOP_")]:
        monkeypatch.delenv(name)
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(spec.stdin))
    try:
        status = main(list(spec.args))
    except SystemExit as exc:  # argparse's way out of a usage error
        status = int(exc.code or 0)
    check_error(case, status, capsys.readouterr().err)


@pytest.fixture(scope="module")
def process_runs(cases: dict[str, Case]) -> dict[str, subprocess.CompletedProcess[str]]:
    def run(name: str) -> subprocess.CompletedProcess[str]:
        case = cases[name]
        return kennisknoop(*case.args, stdin=case.stdin, env=environ(**case.env))

    with ThreadPoolExecutor(max_workers=len(IN_SUBPROCESS)) as pool:
        return dict(zip(IN_SUBPROCESS, pool.map(run, IN_SUBPROCESS), strict=True))


@pytest.mark.parametrize("case", IN_SUBPROCESS)
def test_error_in_a_real_process_is_one_line_and_an_exit_status(
        process_runs: dict[str, subprocess.CompletedProcess[str]], case: str) -> None:
    result = process_runs[case]
    check_error(case, result.returncode, result.stderr)


def test_failed_init_leaves_no_config(cases: dict[str, Case]) -> None:
    assert main(list(cases["bad_province"].args)) == 1
    assert not (Path(cases["bad_province"].args[1]) / CONFIG_FILE).exists()


# --- block / unblock ---------------------------------------------------------------------------

BLOCK_WHEN = datetime(2026, 11, 1, tzinfo=UTC)


async def _listed(directory: Path) -> list[str]:
    async with open_context(load(directory)) as ctx:
        return [i.ap_id for i in (await list_items(ctx, ItemQuery())).items]


async def _insert(directory: Path, local_id: str, host: str) -> str:
    async with open_context(load(directory)) as ctx:
        return (await insert_remote_item(ctx, local_id, published=BLOCK_WHEN, host=host)).ap_id


async def test_block_hides_and_unblock_shows_again(node_dir: Path) -> None:
    item = await _insert(node_dir, "kwaad", "sub.evil.test")
    blocked = kennisknoop("block", node_dir, "Evil.Test", "--reason", "spam")
    assert (blocked.returncode, blocked.stdout.strip()) == (0, "evil.test blocked")
    assert await _listed(node_dir) == []  # a block covers subdomains
    again = kennisknoop("block", node_dir, "evil.test")
    assert again.stdout.strip() == "evil.test was blocked already"
    unblocked = kennisknoop("unblock", node_dir, "evil.test")
    assert (unblocked.returncode, unblocked.stdout.strip()) == (0, "evil.test unblocked")
    assert await _listed(node_dir) == [item]


async def test_block_with_purge_deletes_only_that_hosts_content(node_dir: Path) -> None:
    await _insert(node_dir, "kwaad", "evil.test")
    kept = await _insert(node_dir, "goed", "fryslan.test")
    result = kennisknoop("block", node_dir, "evil.test", "--purge")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 items of evil.test" in result.stdout
    assert kennisknoop("unblock", node_dir, "evil.test").returncode == 0
    assert await _listed(node_dir) == [kept]


def test_unblock_of_a_host_not_blocked_says_so(node_dir: Path) -> None:
    result = kennisknoop("unblock", node_dir, "never.test")
    assert (result.returncode, result.stdout.strip()) == (
        0, "never.test was not blocked with `kennisknoop block`")


def test_block_of_a_non_host_or_of_the_node_itself_fails_in_one_line(node_dir: Path) -> None:
    for host in ("a b", "http://127.0.0.1:8765"):
        result = kennisknoop("block", node_dir, host)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_export_hsds_writes_the_care_initiatives(node_dir: Path, tmp_path: Path) -> None:
    demo = json.loads((DATA / "demo-drenthe.json").read_text(encoding="utf-8"))
    assert kennisknoop("import", node_dir, DATA / "demo-drenthe.json").returncode == 0
    exported = kennisknoop("export", node_dir, tmp_path / "hsds.json", "--format", "hsds")
    assert exported.returncode == 0, exported.stderr
    assert "care organizations" in exported.stderr
    hsds = json.loads((tmp_path / "hsds.json").read_text(encoding="utf-8"))
    care_themes = set(theme_and_narrower("care-wellbeing"))
    care = {i["name"] for i in demo["initiatives"] if care_themes & set(i.get("themes", []))}
    assert care and {o["name"] for o in hsds["organizations"]} == care
    assert hsds["format"] == "hsds" and hsds["services"]
