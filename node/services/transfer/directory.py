"""Directory imports: initiatives from a provincial inventory (CSV and a mapping file), from
Murmurations (a profile, or an index query of the organizations schema) or from an Open
Referral HSDS export; docs/bridges.md.

Unlike the item import (``importing.py``: all or nothing), a directory import is row by row:
every row is validated by the ordinary input model (``InitiativeInput``); a row that fails is
**refused** with its row number, a stable reason and the field, and every valid row is created
through the ordinary use case (signed, announced). ``dry_run`` validates and reports, storing
nothing.

The key that makes an import safe to repeat is the initiative's **handle**: the mapped handle
column, else made from the name (as ``kennisknoop init`` makes one). A row whose handle exists on
the node is skipped (``existing``), not refused and not changed; two rows of one import with the
same handle: the second is refused (``duplicate_handle``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from node.remote import RemoteError
from node.services.actors import create_initiative
from node.services.content import escape_markdown
from node.services.context import NodeContext
from node.services.errors import ConflictError, ServiceError
from node.services.inputs import InitiativeInput
from node.services.murmurations import ORGANIZATIONS_SCHEMA
from node.services.permissions import SYSTEM
from node.services.transfer.csvrows import PLACE_COLUMNS, cell_value, detect_delimiter, with_place
from node.services.transfer.rows import FileFormatError
from node.services.validation import parse_initiative
from node.store import actors as actor_store
from protocol import themes as vocab

Advance = Callable[..., None]  # advance(n=1), as node.progress yields it
MAX_INDEX_PAGES = 50  # pages of an index answer followed (its `links.next`)
MAX_PROFILES = 5000
_LIST_FIELDS = frozenset({"themes", "open_questions", "networks", "partners"})
_TEXT_FIELDS = frozenset({"handle", "name", "summary", "description", "goals",
                          "reason_for_starting", "website", "contact", "founded",
                          "last_confirmed", "members_count", "legal_form", "phase", "status"})
TARGETS = _LIST_FIELDS | _TEXT_FIELDS | frozenset(PLACE_COLUMNS)
_VOCABULARIES = {"legal_form": vocab.LEGAL_FORMS, "phase": vocab.PHASES,
                 "status": vocab.STATUSES, "province_code": vocab.PROVINCES}
_DUTCH_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")


def _nothing(n: int = 1) -> None:
    """No progress to show."""


def slugify(name: str) -> str:
    """A handle from a display name: ``"Doarpswurk Fryslân"`` -> ``"doarpswurk-fryslan"``."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].rstrip("-")


@dataclass(frozen=True)
class Refusal:
    row: str  # "row 7" (spreadsheet numbering: the header is row 1) or "profile 3 (URL)"
    reason: str  # stable: the validation's reason (bad_value, required, …) or our own
    detail: str
    field: str | None = None

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.row}: {self.reason}{where}: {self.detail}"


@dataclass(frozen=True)
class DirectoryRow:
    label: str
    data: dict[str, Any]  # an API-shaped initiative body
    problem: Refusal | None = None  # the row cannot even be read (no handle, fetch failed, …)


@dataclass
class DirectoryReport:
    dry_run: bool = False
    created: list[str] = field(default_factory=list)  # handles (would be, in a dry run)
    existing: list[str] = field(default_factory=list)  # handles already on the node: skipped
    refused: list[Refusal] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would be created" if self.dry_run else "created"
        return (f"{len(self.created)} initiatives {verb}, {len(self.existing)} exist already "
                f"(skipped), {len(self.refused)} rows refused"
                + (" (dry run: nothing stored)" if self.dry_run else ""))


# --- CSV with a mapping file ---------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """A ``mapping.toml``: which column is which field, and which cell value means what."""

    columns: dict[str, str]  # column header -> field
    values: dict[str, dict[str, str]]  # field -> {cell value, lower case -> value}
    defaults: dict[str, Any]  # field -> value for rows that leave it empty
    separator: str = ";"  # between the values of a list field in one cell


def _table(raw: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise FileFormatError("bad_mapping", f"{source}: [{name}] must be a table")
    return table


def parse_mapping(raw: dict[str, Any], source: str = "mapping") -> Mapping:
    """A mapping from its TOML tables ``[columns]``, ``[values.FIELD]``, ``[defaults]``,
    ``[options]``; an unknown field or table is refused (a typo must not import silently)."""
    unknown = sorted(set(raw) - {"columns", "values", "defaults", "options"})
    if unknown:
        raise FileFormatError("bad_mapping", f"{source}: unknown table [{unknown[0]}]")
    columns = _table(raw, "columns", source)
    if not columns:
        raise FileFormatError("bad_mapping", f"{source}: [columns] maps no column")
    for header, target in [*columns.items(), *((f, f) for f in _table(raw, "defaults", source)),
                           *((f, f) for f in _table(raw, "values", source))]:
        if target not in TARGETS:
            raise FileFormatError("bad_mapping", f"{source}: {header!r}: {target!r} is not a "
                                  f"field of an initiative ({', '.join(sorted(TARGETS))})")
    if len(set(columns.values())) != len(columns):
        raise FileFormatError("bad_mapping", f"{source}: [columns] maps two columns to one field")
    values: dict[str, dict[str, str]] = {}
    for target, table in _table(raw, "values", source).items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise FileFormatError("bad_mapping", f"{source}: [values.{target}] must map text "
                                  "to text")
        values[target] = {str(k).strip().lower(): v for k, v in table.items()}
    options = _table(raw, "options", source)
    separator = options.get("list_separator", ";")
    if set(options) - {"list_separator"} or not isinstance(separator, str) or not separator:
        raise FileFormatError("bad_mapping", f"{source}: [options] knows list_separator only")
    return Mapping({str(k).strip(): str(v) for k, v in columns.items()}, values,
                   dict(_table(raw, "defaults", source)), separator)


def load_mapping(path: Path) -> Mapping:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FileFormatError("bad_mapping", f"{path}: cannot read: {exc}") from exc
    return parse_mapping(raw, str(path))


def _vocabulary_value(target: str, value: str) -> str:
    """A choice given by its Dutch or English label (``Stichting``), or its hashtag for a
    theme, as its identifier; anything else unchanged (validation judges it)."""
    lowered = value.lower()
    if target == "themes":
        for theme in vocab.all_themes():
            if lowered in (theme.id, theme.label.nl.lower(), theme.label.en.lower(),
                           theme.hashtag):
                return theme.id
        return value
    table = _VOCABULARIES.get(target)
    if table is None:
        return value
    for key, label in table.items():
        if lowered in (key.lower(), label.nl.lower(), label.en.lower()):
            return key
    return value


def _mapped(mapping: Mapping, target: str, value: str) -> str:
    value = mapping.values.get(target, {}).get(value.lower(), value)
    return _vocabulary_value(target, value)


def _date(value: str) -> str:
    """``31-12-2015`` (Dutch order) and a bare year ``2015`` (1 January) as ISO dates."""
    found = _DUTCH_DATE.fullmatch(value)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return value  # validation says why
    return f"{value}-01-01" if value.isdigit() and len(value) == 4 else value


def _csv_row(mapping: Mapping, label: str, header: list[str], cells: list[str]) -> DirectoryRow:
    if len(cells) > len(header):
        return DirectoryRow(label, {}, Refusal(label, "bad_row", "more cells than columns"))
    flat: dict[str, Any] = {}
    for column, raw in zip(header, cells, strict=False):
        target, value = mapping.columns.get(column), raw.strip()
        if target is None or not value:
            continue
        if target in _LIST_FIELDS:
            flat[target] = [_mapped(mapping, target, part.strip())
                            for part in value.split(mapping.separator) if part.strip()]
        else:
            value = _mapped(mapping, target, value)
            if target in ("founded", "last_confirmed"):
                value = _date(value)
            flat[target] = cell_value(target, value)
    for target, value in mapping.defaults.items():
        flat.setdefault(target, value)
    return _with_handle(label, with_place(flat))


def _with_handle(label: str, data: dict[str, Any]) -> DirectoryRow:
    if not data.get("handle"):
        name = data.get("name")
        handle = slugify(name) if isinstance(name, str) else ""
        if not handle:
            return DirectoryRow(label, data, Refusal(
                label, "required", "name: required (the handle is made from it)", "name"))
        data["handle"] = handle
    elif isinstance(data["handle"], str):
        data["handle"] = data["handle"].strip().lower()
    return DirectoryRow(label, data)


def rows_from_csv(text: str, mapping: Mapping, source: str = "file") -> list[DirectoryRow]:
    """The rows of an inventory CSV (``,`` or ``;``, RFC 4180), through ``mapping``.

    A column the mapping names but the file lacks is an error of the whole file; columns the
    mapping does not name are ignored.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    try:
        header = [c.strip() for c in next(reader)]
    except StopIteration:
        raise FileFormatError("bad_file", f"{source}: the CSV file is empty") from None
    missing = sorted(set(mapping.columns) - set(header))
    if missing:
        raise FileFormatError("bad_mapping", f"{source}: no column {missing[0]!r} (the mapping "
                              f"names it; the file has {', '.join(map(repr, header))})")
    try:
        return [_csv_row(mapping, f"row {reader.line_num}", header, cells) for cells in reader
                if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise FileFormatError("bad_file", f"{source}: line {reader.line_num}: {exc}") from exc


def load_inventory(path: Path, mapping: Mapping) -> list[DirectoryRow]:
    if path.suffix.lower() != ".csv":
        raise FileFormatError("bad_file", f"{path}: an inventory with --map is a .csv file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError("bad_file", f"{path}: cannot read: {exc}") from exc
    return rows_from_csv(text, mapping, str(path))


# --- Murmurations ---------------------------------------------------------------------------------


def _province(region: object) -> str | None:
    if not isinstance(region, str):
        return None
    code = _vocabulary_value("province_code", region.strip())
    return code if code in vocab.PROVINCES else None


def profile_row(profile: object, label: str) -> DirectoryRow:
    """An ``organizations_schema`` profile as an initiative body (docs/bridges.md has the table);
    the inverse of ``node.services.murmurations.build_profile`` for what a node keeps."""
    if not isinstance(profile, dict):
        return DirectoryRow(label, {}, Refusal(label, "bad_profile", "not a JSON object"))
    schemas = profile.get("linked_schemas")
    if not isinstance(schemas, list) or ORGANIZATIONS_SCHEMA not in schemas:
        return DirectoryRow(label, {}, Refusal(
            label, "not_organizations_schema",
            f"linked_schemas does not list {ORGANIZATIONS_SCHEMA}", "linked_schemas"))
    data: dict[str, Any] = {"name": profile.get("name")}
    if isinstance(profile.get("description"), str) and profile["description"].strip():
        data["description"] = escape_markdown(profile["description"].strip())
    for source, target in (("mission", "goals"), ("primary_url", "website"),
                           ("email", "contact")):
        if profile.get(source) not in (None, ""):
            data[target] = profile[source]
    place: dict[str, Any] = {}
    if profile.get("locality"):
        place["name"] = profile["locality"]
    geo = profile.get("geolocation")
    if isinstance(geo, dict) and "lat" in geo and "lon" in geo:
        place["latitude"], place["longitude"] = geo["lat"], geo["lon"]
    province = _province(profile.get("region"))
    if province:
        place["province_code"] = province
    if place:
        data["place"] = place
    raw_tags = profile.get("tags")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    for tag in (t.strip() for t in tags if isinstance(t, str)):
        theme = _vocabulary_value("themes", tag)
        if vocab.is_theme(theme):
            data.setdefault("themes", []).append(theme)
        elif (legal := _vocabulary_value("legal_form", tag)) in vocab.LEGAL_FORMS:
            data.setdefault("legal_form", legal)
    return _with_handle(label, data)


@dataclass(frozen=True)
class MurmurationsSource:
    """What a Murmurations URL gave: one profile, or the profile URLs an index listed."""

    profile: dict[str, Any] | None
    profile_urls: list[str]


async def read_murmurations(ctx: NodeContext, url: str) -> MurmurationsSource:
    """Fetch ``url`` through the guarded client: a profile (it has ``linked_schemas``), or an
    index's answer to ``GET /v2/nodes?schema=…`` (``data``: nodes with a ``profile_url``),
    whose ``links.next`` pages are followed. Nodes the index lists as deleted are left out."""
    document = await ctx.remote.get_json(url, activitypub=False)
    if "linked_schemas" in document:
        return MurmurationsSource(document, [url])
    if not isinstance(document.get("data"), list):
        raise FileFormatError("bad_document", f"{url}: neither a Murmurations profile "
                              "(linked_schemas) nor an index answer (data)")
    found: list[str] = []
    page, seen = document, {url}
    for _ in range(MAX_INDEX_PAGES):
        for node in page.get("data") or []:
            if isinstance(node, dict) and isinstance(node.get("profile_url"), str) \
                    and node.get("status", "posted") != "deleted":
                found.append(node["profile_url"])
        links = page.get("links")
        following = links.get("next") if isinstance(links, dict) else None
        if not isinstance(following, str) or not following or len(found) >= MAX_PROFILES:
            break
        following = urljoin(url, following)
        if following in seen:
            break
        seen.add(following)
        page = await ctx.remote.get_json(following, activitypub=False)
    return MurmurationsSource(None, list(dict.fromkeys(found))[:MAX_PROFILES])


async def murmurations_rows(ctx: NodeContext, source: MurmurationsSource,
                            advance: Advance = _nothing) -> list[DirectoryRow]:
    """One row per profile; a profile that cannot be fetched is a refused row, not a failure."""
    if source.profile is not None:
        advance()
        return [profile_row(source.profile, f"profile 1 ({source.profile_urls[0]})")]
    rows = []
    for number, url in enumerate(source.profile_urls, start=1):
        label = f"profile {number} ({url})"
        try:
            rows.append(profile_row(await ctx.remote.get_json(url, activitypub=False), label))
        except RemoteError as exc:
            rows.append(DirectoryRow(label, {}, Refusal(label, "fetch_failed",
                                                        f"{exc.reason}: {exc.detail}")))
        advance()
    return rows


# --- Open Referral HSDS (what ``export --format hsds`` writes) ------------------------------------


def _by_organization(records: object) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and isinstance(record.get("organization_id"), str):
            found.setdefault(record["organization_id"], []).append(record)
    return found


def hsds_rows(document: dict[str, Any]) -> list[DirectoryRow]:
    """One row per HSDS ``organization`` of an export as ``export --format hsds`` writes it
    (one array per table): its services' names are its care themes, its physical location
    its place (docs/bridges.md has the table)."""
    services = _by_organization(document.get("services"))
    locations = _by_organization(document.get("locations"))
    rows = []
    organizations = document.get("organizations")
    for number, org in enumerate(organizations if isinstance(organizations, list) else [], 1):
        label = f"organization {number}"
        if not isinstance(org, dict):
            rows.append(DirectoryRow(label, {}, Refusal(label, "bad_row", "not a JSON object")))
            continue
        label += f" ({org.get('name')})" if isinstance(org.get("name"), str) else ""
        data: dict[str, Any] = {"name": org.get("name")}
        description = org.get("description")
        if isinstance(description, str) and description.strip() and description != org["name"]:
            data["description"] = escape_markdown(description.strip())
        for source, target in (("website", "website"), ("email", "contact")):
            if org.get(source):
                data[target] = org[source]
        if isinstance(org.get("legal_status"), str):
            data["legal_form"] = _vocabulary_value("legal_form", org["legal_status"])
        if isinstance(org.get("year_incorporated"), int):
            data["founded"] = f"{org['year_incorporated']:04d}-01-01"
        own = services.get(str(org.get("id")), [])
        themes = [_vocabulary_value("themes", str(s.get("name"))) for s in own]
        if themes:
            data["themes"] = themes
        if any(s.get("status") == "inactive" for s in own):
            data["status"] = "on-hold"  # HSDS has one word for on hold, completed and stopped
        goals = {s.get("description") for s in own} - {None, description}
        if len(goals) == 1:
            data["goals"] = goals.pop()
        place = next((loc for loc in locations.get(str(org.get("id")), [])
                      if loc.get("location_type", "physical") == "physical"), None)
        if place is not None:
            data["place"] = {k: place[f] for k, f in (("name", "name"), ("latitude", "latitude"),
                                                     ("longitude", "longitude")) if f in place}
        rows.append(_with_handle(label, data))
    return rows


def load_hsds(path: Path) -> list[DirectoryRow] | None:
    """The rows of an HSDS export file, or None when ``path`` is not one (another import)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # the item import reads it and says what is wrong
    if not isinstance(document, dict) or document.get("format") != "hsds":
        return None
    return hsds_rows(document)


# --- importing ------------------------------------------------------------------------------------


async def _exists(ctx: NodeContext, handle: str) -> bool:
    async with ctx.db.sessions() as session:
        return await actor_store.get_local(session, handle) is not None


async def import_rows(ctx: NodeContext, rows: Iterable[DirectoryRow], *, dry_run: bool = False,
                      advance: Advance = _nothing) -> DirectoryReport:
    """Validate each row; refuse the invalid ones, skip those whose handle exists, create the
    rest (unless ``dry_run``). One row's refusal never stops the others."""
    report = DirectoryReport(dry_run=dry_run)
    handles: dict[str, str] = {}  # handle -> label of the first row with it
    for row in rows:
        checked = row.problem or await _check(ctx, row, handles)
        if isinstance(checked, Refusal):
            report.refused.append(checked)
        else:
            data = checked
            if await _exists(ctx, data.handle):
                report.existing.append(data.handle)
            elif dry_run:
                report.created.append(data.handle)
            else:
                try:
                    await create_initiative(ctx, data, SYSTEM)
                    report.created.append(data.handle)
                except ConflictError:  # created meanwhile (a second import at once)
                    report.existing.append(data.handle)
        advance()
    return report


async def _check(ctx: NodeContext, row: DirectoryRow, handles: dict[str, str]
                 ) -> Refusal | InitiativeInput:
    try:
        data = parse_initiative(row.data, today=ctx.now().date())
    except ServiceError as exc:
        return Refusal(row.label, exc.reason, exc.detail, exc.field)
    if data.handle in handles:
        return Refusal(row.label, "duplicate_handle", f"{data.handle!r} is also the handle of "
                       f"{handles[data.handle]}", "handle")
    handles[data.handle] = row.label
    return data
