"""The ``kennisknoop`` command line: set up, run and feed a node (docs/cli.md).

Every command takes the node directory (holding ``kennisknoop.toml``) first. This module is the
only place that loads settings. Failures a user can act on — configuration, validation, files,
an unreachable database — are one line on stderr and exit status 1; usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from node import backup
from node.config import CONFIG_FILE, ROLES, ConfigError, Settings, build_settings, load_settings
from node.config import render_toml as _render_toml
from node.progress import progress
from node.remote import RemoteError, RemotePolicy, build_http_client
from node.services import follow as follow_service
from node.services import keys, moves, policy, ratelimit, search_index, transfer, uploads, users
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.services.errors import ServiceError
from node.services.metrics import Metrics
from node.services.transfer import slugify
from node.services.validation import parse_handle
from node.store.db import Database
from node.web.observe import configure_logging
from protocol import themes
from protocol.errors import ProtocolError

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("kennisknoop.cli")
PROG = "kennisknoop"


class CliError(Exception):
    """A command cannot go on; ``str(exc)`` is the one line shown to the user."""


# --- building blocks (also used by node.demo and the tests) ---------------------------------------


def redact(url: str) -> str:
    """A database URL fit to print: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def check_database_url(settings: Settings) -> None:
    try:
        backend = make_url(settings.database_url).get_backend_name()
    except ArgumentError as exc:
        raise ConfigError(f"database.url is not a database URL: {exc}") from exc
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"database.url: {backend} is not supported (use sqlite or postgresql)")


def load(directory: Path) -> Settings:
    """The settings of the node in ``directory`` (file plus ``KENNISKNOOP_*`` environment)."""
    settings = load_settings(directory)
    check_database_url(settings)
    return settings


def migrate_database(settings: Settings) -> None:
    """Bring the schema up to date (Alembic; synchronous, run it outside the event loop)."""
    from node.store.migrate import upgrade  # Alembic takes a third of a second to import

    upgrade(settings.database_url)
    asyncio.run(_fill_search_index(settings))


async def _fill_search_index(settings: Settings) -> None:
    """What was stored before the search index existed gets indexed once (docs/search.md)."""
    async with open_context(settings) as ctx:
        indexed = await search_index.fill_if_empty(ctx)
    if indexed:
        print(f"search index filled: {indexed} items and initiatives", file=sys.stderr)


@asynccontextmanager
async def open_context(settings: Settings, *, metrics: Metrics | None = None
                       ) -> AsyncIterator[NodeContext]:
    """A ``NodeContext`` with its own database pool and outbound HTTP client, closed on exit.

    ``metrics``: the collectors to count into (``serve`` passes its app's, so ``/metrics``
    shows what its built-in worker did).
    """
    db = Database.connect(settings.database_url)
    # interop(bovine-herd): the worker `serve` runs uses this context to deliver and to fetch
    # followers' actors; without a client every delivery crashed the worker round, so a served
    # node never sent an Accept. Same client settings as create_app's.
    http = build_http_client(RemotePolicy(allow_private_network=settings.node.allow_private_network))
    try:
        ctx = NodeContext(settings=settings, db=db, http=http)
        if metrics is not None:
            ctx.metrics = metrics
        yield ctx
    finally:
        await http.aclose()
        await db.dispose()


async def _ensure_node(settings: Settings) -> str:
    async with open_context(settings) as ctx:
        actor = await ensure_node_actor(ctx)
        if actor.ap_id != ctx.urls.actor(settings.node.handle.lower()):
            raise CliError(f"the database already belongs to the node {actor.ap_id}")
        return actor.ap_id


def init_node(directory: Path, *, url: str, name: str, handle: str | None = None,
              database: str | None = None, role: str = "provincial",
              allow_private_network: bool = False, province: str | None = None,
              environ: Mapping[str, str] | None = None) -> Settings:
    """Write ``DIR/kennisknoop.toml``, migrate the database and create the node actor's keys.

    The file is written last, so a failed init (say, an unreachable database) can be re-run.
    """
    config_path = directory / CONFIG_FILE
    if config_path.exists():
        raise CliError(f"{config_path} already exists; not overwriting it")
    handle = parse_handle(handle or slugify(name), "handle")
    if province:
        province = province.strip().upper()
        if province not in themes.PROVINCES:
            raise CliError(f"--province must be a CBS province code, one of "
                           f"{', '.join(sorted(themes.PROVINCES))}")
    overrides: dict[tuple[str, str], Any] = {
        ("node", "url"): url, ("node", "name"): name, ("node", "handle"): handle,
        ("node", "role"): role, ("node", "allow_private_network"): allow_private_network,
        ("node", "province_code"): province or "",
    }
    if database:
        overrides[("database", "url")] = database
    directory = directory.resolve()
    text = _render_toml(build_settings(directory, overrides, environ={}))
    # What the node will run with: the file as written plus the environment, as `serve` sees it.
    settings = build_settings(directory, environ=os.environ if environ is None else environ,
                              file_values=tomllib.loads(text))
    check_database_url(settings)
    directory.mkdir(parents=True, exist_ok=True)
    migrate_database(settings)
    asyncio.run(_ensure_node(settings))
    with config_path.open("x", encoding="utf-8") as f:  # "x": never clobber a concurrent init
        f.write(text)
    config_path.chmod(0o600)  # the database URL may hold a password
    return settings


# --- commands -------------------------------------------------------------------------------------


def _cmd_init(args: argparse.Namespace) -> int:
    settings = init_node(Path(args.dir), url=args.url, name=args.name, handle=args.handle,
                         database=args.database, role=args.role,
                         allow_private_network=args.allow_private_network, province=args.province)
    node = settings.node
    print(f"Initialised {node.name} ({node.handle}@{node.host}) in {settings.dir}")
    print(f"  node actor: {node.url}/actors/{node.handle}")
    print(f"  database:   {redact(settings.database_url)}")
    print(f"Next: {PROG} user add {args.dir} NAME --role admin --password-stdin; "
          f"{PROG} serve {args.dir}")
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    migrate_database(settings)
    print(f"database schema up to date: {redact(settings.database_url)}")
    return 0


def server_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """How ``serve`` runs ``app`` under uvicorn.

    Forwarded headers are believed only from ``server.forwarded_allow_ips`` (never uvicorn's own
    ``FORWARDED_ALLOW_IPS`` environment variable, so the setting is the one place to look). The
    app logs every request itself, with its request id (node.web.observe), so uvicorn's access
    log is off.
    """
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=True,
                          forwarded_allow_ips=list(settings.server.forwarded_allow_ips),
                          access_log=False, log_config=None)


async def _serve(settings: Settings, host: str, port: int, *, with_worker: bool) -> int:
    import uvicorn

    from node import worker
    from node.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(server_config(app, settings, host, port))
    stop = asyncio.Event()
    failed: list[BaseException] = []

    def worker_done(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            failed.append(task.exception())  # type: ignore[arg-type]
            log.error("worker stopped: %s; shutting the server down", task.exception())
            server.should_exit = True  # a node without its worker must not look healthy

    async def run_worker() -> None:
        async with open_context(settings, metrics=app.state.ctx.metrics) as ctx:
            await worker.run(ctx, stop)

    # uvicorn re-raises the signal that stopped it once it has shut down; with these handlers in
    # place that only lets the worker finish, and SIGTERM ends the process with status 0.
    loop = asyncio.get_running_loop()
    previous = {sig: signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    task = asyncio.create_task(run_worker()) if with_worker else None
    if task is not None:
        task.add_done_callback(worker_done)
    try:
        await server.serve()
    finally:
        stop.set()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0


def _cmd_serve(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    configure_logging(settings)
    # Volunteers run `serve` unattended (systemd, Docker): an upgrade needs no separate step.
    migrate_database(settings)
    asyncio.run(_ensure_node(settings))
    log.info("%s", ratelimit.startup_line(settings))  # issue 14: per process, multiplied
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    try:
        return asyncio.run(_serve(settings, host, port, with_worker=not args.no_worker))
    except SystemExit as exc:  # uvicorn exits 3 when it cannot start (port in use); it logged why
        if exc.code in (0, None):
            raise
        return 1


async def _work(settings: Settings) -> None:
    from node import worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_context(settings) as ctx:
        exporter = None
        if settings.metrics.worker_port:
            from prometheus_client import start_http_server

            # Loopback only: a scraper on the same machine, or a proxy that adds its own auth.
            exporter, _ = start_http_server(settings.metrics.worker_port, addr="127.0.0.1",
                                            registry=ctx.metrics.registry)
        try:
            await worker.run(ctx, stop)
        finally:
            if exporter is not None:
                exporter.shutdown()


def _cmd_worker(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    configure_logging(settings)
    asyncio.run(_work(settings))
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password: pass it on standard input with "
                       "--password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise CliError("the passwords differ")
    return password


def _run(settings: Settings, use_case: Callable[[NodeContext], Any]) -> Any:
    async def go() -> Any:
        async with open_context(settings) as ctx:
            return await use_case(ctx)
    return asyncio.run(go())


def _cmd_user_add(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    password = _read_password(args.password_stdin)
    caller = _run(settings, lambda ctx: users.add_user(ctx, args.username, password, args.role))
    print(f"user {caller.username} added ({caller.role})")
    return 0


def _cmd_user_grant(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    _run(settings, lambda ctx: users.grant(ctx, args.username, args.initiative))
    print(f"{args.username} may now edit {args.initiative}")
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    print(_run(settings, lambda ctx: users.create_token(ctx, args.username)))
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    hsds = None if args.map is not None else transfer.load_hsds(Path(args.file))
    if args.map is not None or hsds is not None or args.file.startswith(("http://", "https://")):
        return _import_directory(settings, args, hsds)
    batch = transfer.load_file(Path(args.file))
    if args.dry_run:
        _run(settings, lambda ctx: transfer.check_batch(ctx, batch))  # raises on any bad row
        print(f"dry run: every row is valid ({len(batch.initiatives)} initiatives, "
              f"{len(batch.items)} items, {len(batch.accepts)} accepts); nothing stored")
        return 0

    async def run(ctx: NodeContext) -> transfer.ImportReport:
        plan = await transfer.check_batch(ctx, batch)  # every row first: all or nothing
        with progress(plan.size, "Importeren") as advance:
            return await transfer.apply_plan(ctx, plan, advance=advance)

    report: transfer.ImportReport = _run(settings, run)
    for note in report.notes:
        print(f"note: {note}")
    print(report.summary())
    return 0


def _import_directory(settings: Settings, args: argparse.Namespace,
                      hsds: list[transfer.DirectoryRow] | None) -> int:
    """Initiatives row by row: an inventory CSV through ``--map``, a Murmurations URL (a
    profile, or an index query), or an HSDS export (``hsds``: its rows). Refused rows are
    listed and make the exit status 1; the valid rows are imported all the same
    (docs/bridges.md)."""
    from node.progress import progress

    async def go(ctx: NodeContext) -> transfer.DirectoryReport:
        if hsds is not None:
            rows = hsds
        elif args.map is not None:
            if args.file.startswith(("http://", "https://")):
                raise CliError("--map reads a CSV file, not a URL")
            rows = transfer.load_inventory(Path(args.file), transfer.load_mapping(Path(args.map)))
        else:
            source = await transfer.read_murmurations(ctx, args.file)
            with progress(len(source.profile_urls), "Murmurations-profielen ophalen") as advance:
                rows = await transfer.murmurations_rows(ctx, source, advance)
        with progress(len(rows), "Initiatieven importeren") as advance:
            return await transfer.import_rows(ctx, rows, dry_run=args.dry_run, advance=advance)

    report: transfer.DirectoryReport = _run(settings, go)
    for refusal in report.refused:
        print(f"refused: {refusal}")
    if report.existing:
        print(f"exist already (skipped): {', '.join(report.existing)}")
    print(report.summary())
    return 1 if report.refused else 0


def _cmd_export(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    hsds = args.format == "hsds"
    document = _run(settings, transfer.export_hsds if hsds else transfer.export_node)
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    if args.file == "-":
        sys.stdout.buffer.write(data)
        return 0
    target = Path(args.file)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.replace(target)  # never leave half an export under the real name
    if hsds:
        print(f"exported {len(document['organizations'])} care organizations and "
              f"{len(document['services'])} services (HSDS) to {target}", file=sys.stderr)
        return 0
    print(f"exported {len(document['initiatives'])} initiatives and {len(document['items'])} "
          f"items to {target}", file=sys.stderr)
    return 0


def _cmd_follow(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    result = _run(settings, lambda ctx: follow_service.follow(ctx, args.target,
                                                              as_handle=args.as_handle))
    state = "follows" if result.state == "accepted" else "asked to follow"
    print(f"{result.follower} {state} {result.followee}"
          + ("" if result.state == "accepted" else " (the worker delivers the request)"))
    return 0


def _cmd_unfollow(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    done = _run(settings, lambda ctx: follow_service.unfollow(ctx, args.target,
                                                              as_handle=args.as_handle))
    print("unfollowed" if done else "was not following")
    return 0


def _cmd_block(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    host, added, purged = _run(settings, lambda ctx: policy.block(
        ctx, args.host, reason=args.reason, purge=args.purge))
    print(f"{host} blocked" if added else f"{host} was blocked already")
    if args.purge:
        print(f"deleted {purged} items of {host} and what else was stored from it")
    return 0


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"


def _cmd_sweep_uploads(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    result = _run(settings, lambda ctx: uploads.sweep(ctx, dry_run=args.dry_run))
    grace = settings.uploads.orphan_grace_hours
    for orphan in result.orphans:
        done = "would remove" if args.dry_run else \
            ("removed" if orphan in result.removed else "kept (named meanwhile)")
        print(f"{done} {orphan.sha256}  {orphan.size} bytes  last used "
              f"{orphan.modified:%Y-%m-%d %H:%M} UTC")
    size = sum(f.size for f in result.orphans)
    if args.dry_run:
        print(f"{len(result.orphans)} uploaded files ({_mb(size)}) named by nothing and older "
              f"than {grace} h would be removed (dry run: nothing removed)")
    else:
        print(f"{len(result.removed)} uploaded files ({_mb(result.removed_bytes)}) named by "
              f"nothing and older than {grace} h removed")
    return 0


def _cmd_unblock(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    host, removed = _run(settings, lambda ctx: policy.unblock(ctx, args.host))
    if not removed:
        print(f"{host} was not blocked with `{PROG} block`")
        return 0
    configured = "" if policy.configured_allows(settings, host) else \
        " (federation.block or allow in the configuration still refuses it)"
    print(f"{host} unblocked{configured}")
    return 0


def _cmd_keys_rotate(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    rotation = _run(settings, lambda ctx: keys.rotate_keys(ctx, args.handle))
    print(f"new key pairs for {rotation.actor.ap_id}; {rotation.resigned} documents signed "
          "again; its Update goes to all its followers with the worker")
    return 0


def _cmd_alias(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    actor = _run(settings, lambda ctx: moves.add_alias(ctx, args.handle, args.old_actor))
    print(f"{actor.ap_id} is also known as {args.old_actor}; now run `{PROG} move` on the old "
          "actor's node")
    return 0


def _cmd_move(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    actor = _run(settings, lambda ctx: moves.move_actor(ctx, args.handle, args.new_actor))
    print(f"{actor.ap_id} moved to {args.new_actor}; the worker sends the Move to its followers")
    return 0


def _cmd_backup(args: argparse.Namespace) -> int:
    settings = load(Path(args.dir))
    manifest = backup.create_backup(settings, Path(args.file))
    size = Path(args.file).stat().st_size
    print(f"backed up {settings.node.url} ({manifest.database} database at revision "
          f"{manifest.revision}, {len(manifest.files)} files) to {args.file} ({size} bytes); "
          "it holds the private keys: keep it secret")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    settings, manifest = backup.restore_backup(Path(args.dir), Path(args.file), force=args.force)
    print(f"restored {manifest.node_url} (backed up {manifest.created_at}) into {settings.dir}; "
          f"database: {redact(settings.database_url)}")
    print(f"Next: {PROG} serve {args.dir}")
    return 0


# --- parser ---------------------------------------------------------------------------------------


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Kennisknoop: a federated knowledge "
                                     "node for village associations.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, run: Callable[[argparse.Namespace], int],
                group: Any = commands) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(name, help=help, description=help)
        p.set_defaults(run=run)
        p.add_argument("dir", metavar="DIR", help="the node directory (holds kennisknoop.toml)")
        return p

    p = command("init", "create a node: write DIR/kennisknoop.toml, create the database and "
                "the node actor's keys", _cmd_init)
    p.add_argument("--url", required=True, metavar="BASE_URL",
                   help="public base URL, e.g. https://kennis.example")
    p.add_argument("--name", required=True, help="display name of the node")
    p.add_argument("--handle", help="handle of the node actor (default: from the name)")
    p.add_argument("--database", metavar="URL", help="database URL (default: SQLite file in DIR)")
    p.add_argument("--role", choices=ROLES, default="provincial", help="default: provincial")
    p.add_argument("--allow-private-network", action="store_true",
                   help="allow requests to loopback/private addresses (local demos only)")
    p.add_argument("--province", metavar="PVxx", help="CBS province code, e.g. PV22")

    p = command("serve", "migrate the database, then serve the node (and run the worker)",
                _cmd_serve)
    p.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port to listen on (default: server.port, 8000)")
    p.add_argument("--no-worker", action="store_true",
                   help="do not run the worker in this process (run `kennisknoop worker`)")

    command("worker", "run the background worker alone", _cmd_worker)
    command("migrate", "bring the database schema up to date", _cmd_migrate)

    user = commands.add_parser("user", help="manage editors and admins",
                               description="manage editors and admins")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    p = command("add", "add a user", _cmd_user_add, user_commands)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", choices=users.ROLES, required=True)
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    p = command("grant", "let an editor edit an initiative and its items", _cmd_user_grant,
                user_commands)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("initiative", metavar="INITIATIVE", help="handle of the initiative")

    p = command("token", "print a new bearer token for the JSON API", _cmd_token)
    p.add_argument("username", metavar="USERNAME")
    p = command("import", "import initiatives and items from a .json or .csv file (every row "
                "is validated first); or initiatives from a provincial inventory (.csv with "
                "--map) or a Murmurations profile or index URL, row by row", _cmd_import)
    p.add_argument("file", metavar="FILE", help="a .json or .csv file, or an http(s) URL of a "
                   "Murmurations profile or index query (organizations schema)")
    p.add_argument("--map", metavar="MAPPING.toml", help="read FILE as an inventory CSV whose "
                   "columns and values this mapping file translates (docs/bridges.md)")
    p.add_argument("--dry-run", action="store_true", help="validate and report every row that "
                   "would be refused and why; store nothing")
    p = command("export", "write everything this node owns as signed JSON-LD documents",
                _cmd_export)
    p.add_argument("file", metavar="FILE", help="output file, or - for standard output")
    p.add_argument("--format", choices=("kennisknoop", "hsds"), default="kennisknoop",
                   help="kennisknoop: every signed document (default); hsds: the care "
                        "initiatives as Open Referral HSDS records")
    for name, run, what in (("follow", _cmd_follow, "follow"),
                            ("unfollow", _cmd_unfollow, "stop following")):
        p = command(name, f"{what} a node, initiative or theme anywhere (as the node actor, or "
                    "--as an initiative)", run)
        p.add_argument("target", metavar="TARGET",
                       help="handle such as fryslan@kennis.doarpswurk.nl or an actor URL")
        p.add_argument("--as", dest="as_handle", metavar="HANDLE",
                       help="the local initiative that follows (default: the node actor)")
    p = command("block", "stop federating with a host (and its subdomains) at once: nothing "
                "more is fetched from or sent to it, and what is stored from it is hidden",
                _cmd_block)
    p.add_argument("host", metavar="HOST", help="host name such as evil.example")
    p.add_argument("--purge", action="store_true",
                   help="also delete everything stored from that host")
    p.add_argument("--reason", help="a note for the other admins")
    key_group = commands.add_parser("keys", help="manage the actors' key pairs",
                                    description="manage the actors' key pairs")
    key_commands = key_group.add_subparsers(dest="keys_command", required=True,
                                            metavar="COMMAND")
    p = command("rotate", "give a local actor new key pairs, sign its documents again and "
                "send its Update to all its followers", _cmd_keys_rotate, key_commands)
    p.add_argument("handle", metavar="HANDLE", help="the node's handle, an initiative or a "
                   "theme feed")
    p = command("alias", "list another (old) actor in the alsoKnownAs of a local actor: the "
                "new actor's consent to a move", _cmd_alias)
    p.add_argument("handle", metavar="HANDLE", help="the local (new) actor")
    p.add_argument("old_actor", metavar="OLD_ACTOR_URL", help="the actor that moves here")
    p = command("move", "move a local actor to a new actor that lists it in alsoKnownAs: its "
                "followers are asked to follow the new one", _cmd_move)
    p.add_argument("handle", metavar="HANDLE", help="the local (old) actor")
    p.add_argument("new_actor", metavar="NEW_ACTOR_URL", help="the actor it moves to")
    p = command("backup", "write the database (with the actors' keys), the configuration and "
                "any attachments to one .tar.gz archive, consistent while the node runs",
                _cmd_backup)
    p.add_argument("file", metavar="FILE", help="the archive to write (mode 0600)")
    p = command("restore", "restore an archive made by `backup` into a stopped, empty node "
                "(DIR may be empty: the archived configuration is used)", _cmd_restore)
    p.add_argument("file", metavar="FILE", help="the archive to read")
    p.add_argument("--force", action="store_true",
                   help="replace a database that holds data (even of a running node)")
    p = command("sweep-uploads", "remove uploaded files that no item, item version or actor "
                "names and that are older than uploads.orphan_grace_hours (the worker does "
                "this every hour)", _cmd_sweep_uploads)
    p.add_argument("--dry-run", action="store_true",
                   help="only list the files that would be removed")
    p = command("unblock", "lift a block made with `block`: what is stored shows again",
                _cmd_unblock)
    p.add_argument("host", metavar="HOST")
    return parser


def iter_commands(parser: argparse.ArgumentParser | None = None, prefix: str = ""
                  ) -> list[tuple[str, argparse.ArgumentParser]]:
    """Every leaf command as ``("user add", its parser)``: what docs/cli.md must describe."""
    parser = parser or build_parser()
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                nested = iter_commands(sub, full)
                found.extend(nested or [(full, sub)])
    return found


# --- entry point ----------------------------------------------------------------------------------


def _database_message(exc: SQLAlchemyError) -> str:
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"database error: {text} (run `{PROG} migrate DIR` first)"
    return f"cannot use the database: {text}"


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status (0 ok, 1 failed, 2 usage error)."""
    args = build_parser().parse_args(argv)

    def fail(message: str) -> int:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1

    try:
        return int(args.run(args))
    except transfer.ImportRowsError as exc:
        for error in exc.errors:
            print(f"{PROG}: {error}", file=sys.stderr)
        return fail(exc.detail)
    except (CliError, ConfigError, backup.BackupError) as exc:
        return fail(str(exc))
    except ServiceError as exc:
        return fail(exc.detail)
    except ProtocolError as exc:
        return fail(f"{exc.reason}: {exc.detail}")
    except RemoteError as exc:
        return fail(f"the other server could not be reached or answered badly: {exc.detail}")
    except SQLAlchemyError as exc:
        return fail(_database_message(exc))
    except OSError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
