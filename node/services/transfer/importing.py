"""Import: every row validated by the input models and cross-checked, then created (or nothing).

Every row of an import file (``rows.py``, ``csvrows.py``) is validated first with the models of
``node.services.inputs`` (initiatives, items of each kind, accept rows) and cross-checked (refs,
initiatives); if any row fails, all errors are reported with their row and nothing is stored.
Then initiatives, items and accepted answers are created in that order, each one signed and
published exactly as if an editor had entered it: initiatives and accepted answers through the
ordinary use cases, items ``BATCH_SIZE`` per transaction through ``node.services.bulk`` (the
same rows as ``create_item``, written with a few statements per batch).

Import is safe to run again: an initiative whose handle exists on the node is skipped, and so is
an item when the same author already has a live item of the same kind with the same title (or,
without a title, the same content) in reply to the same question.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.services.actors import create_initiative
from node.services.bulk import NewItem, create_items, new_item_iri, sources
from node.services.context import NodeContext
from node.services.errors import NotFoundError, ServiceError
from node.services.fieldtypes import REF_PREFIX, ref_name
from node.services.inputs import InitiativeInput, ItemInput, Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM
from node.services.texts import Texts, TextWorker, worth_a_process
from node.services.transfer.csvrows import load_csv
from node.services.transfer.rows import FileFormatError, ImportBatch, Row, load_json_document
from node.services.validation import parse_accept, parse_initiative, parse_item
from node.store import actors as actor_store
from node.store import objects as object_store

# Items per transaction: thousands, so an import of 100,000 items takes minutes; small enough
# that one transaction holds SQLite's write lock for a second or so (docs/performance.md).
BATCH_SIZE = 1_000

Advance = Callable[[int], None]

# Stands in for a ``ref:`` link while a row is validated; replaced by the real IRI on creation.
_REF_PLACEHOLDER = "https://import.invalid/ref"


@dataclass(frozen=True)
class RowError:
    row: str  # "row 3" (CSV, spreadsheet numbering: the header is row 1) or "item 2 (ref)" (JSON)
    detail: str
    field: str | None = None

    def __str__(self) -> str:
        return f"{self.row}: {self.detail}"


class ImportRowsError(ServiceError):
    """One or more rows failed validation; ``errors`` lists every one. Nothing was imported."""

    status = 422

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("invalid_rows", f"{len(errors)} row(s) failed validation, nothing was "
                         "imported")


@dataclass(frozen=True)
class _PlannedItem:
    label: str
    ref: str | None
    data: ItemInput
    reply_ref: str | None  # the ref its ``in_reply_to`` names, resolved when it is created


@dataclass(frozen=True)
class ImportPlan:
    """A validated batch: ready to be created."""

    initiatives: list[InitiativeInput]
    items: list[_PlannedItem]
    accepts: list[tuple[str, str]]  # (question ref, answer ref)

    @property
    def size(self) -> int:
        """Rows to create: what a progress bar counts."""
        return len(self.initiatives) + len(self.items) + len(self.accepts)


@dataclass
class ImportReport:
    initiatives_created: int = 0
    initiatives_skipped: int = 0
    items_created: int = 0
    items_skipped: int = 0
    answers_accepted: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.initiatives_created} initiatives created, {self.initiatives_skipped} "
                f"skipped; {self.items_created} items created, {self.items_skipped} skipped; "
                f"{self.answers_accepted} answers accepted")


def load_file(path: Path) -> ImportBatch:
    """Read a ``.json`` or ``.csv`` import file into rows (not validated yet)."""
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise FileFormatError("bad_file", f"{path}: import files end in .json or .csv")
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError("bad_file", f"{path}: cannot read: {exc}") from exc
    if suffix == ".csv":
        return load_csv(text, str(path))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError("bad_file", f"{path}: not valid JSON: {exc}") from exc
    return load_json_document(raw, str(path))


# --- validating -----------------------------------------------------------------------------------


async def _actor_exists(session: AsyncSession, handle: str) -> bool:
    actor = await actor_store.get_local(session, handle)
    return actor is not None and not actor.deleted


@dataclass
class _Checker:
    """State of one validation pass: what the file defines so far, and every error found.

    Rows that failed still define their handle or ref, so the rows that point at them report
    nothing more: one mistake, one message.
    """

    ctx: NodeContext
    errors: list[RowError] = field(default_factory=list)
    handles: dict[str, str] = field(default_factory=dict)  # handle -> label of its row
    kinds: dict[str, str] = field(default_factory=dict)  # ref -> kind of the item
    replies: dict[str, str] = field(default_factory=dict)  # answer ref -> question ref
    failed: set[str] = field(default_factory=set)  # refs of items that failed

    def fail(self, row: Row, detail: str, field_name: str | None = None) -> None:
        self.errors.append(RowError(row.label, detail, field_name))

    def initiative(self, row: Row) -> InitiativeInput | None:
        try:
            data = parse_initiative(row.data)
        except ServiceError as exc:
            self.fail(row, exc.detail, exc.field)
            raw_handle = row.data.get("handle")
            if isinstance(raw_handle, str):
                self.handles.setdefault(raw_handle.strip().lower(), row.label)
            return None
        if data.handle in self.handles:
            self.fail(row, f"handle: {data.handle!r} already appears in "
                      f"{self.handles[data.handle]}", "handle")
            return None
        self.handles[data.handle] = row.label
        return data

    async def item(self, session: AsyncSession, row: Row) -> _PlannedItem | None:
        raw = dict(row.data)
        ref, reply_ref = raw.pop("ref", None), ref_name(raw.get("in_reply_to"))
        if ref is not None and (not isinstance(ref, str) or not ref.strip()):
            self.fail(row, "ref: must be a non-empty name", "ref")
            return None
        ref = ref.strip() if ref is not None else None
        if ref is not None and (ref in self.kinds or ref in self.failed):
            self.fail(row, f"ref: {ref!r} is used twice", "ref")
            return None
        data = await self._item_input(session, row, raw, reply_ref)
        if data is None:
            if ref is not None:
                self.failed.add(ref)
            return None
        if ref is not None:
            self.kinds[ref] = data.kind
            if reply_ref is not None:
                self.replies[ref] = reply_ref
        return _PlannedItem(row.label, ref, data, reply_ref)

    async def _item_input(self, session: AsyncSession, row: Row, raw: dict[str, Any],
                          reply_ref: str | None) -> ItemInput | None:
        if reply_ref in self.failed:
            return None
        if reply_ref is not None:
            if self.kinds.get(reply_ref) != "question":
                self.fail(row, f"in_reply_to: {REF_PREFIX}{reply_ref} is not a question earlier "
                          "in this file", "in_reply_to")
                return None
            raw["in_reply_to"] = _REF_PLACEHOLDER
        try:
            data = parse_item(raw)
        except ServiceError as exc:
            self.fail(row, exc.detail, exc.field)
            return None
        problem = await _check_author(session, self.ctx, data.initiative, self.handles)
        if problem:
            self.fail(row, problem, "initiative")
            return None
        return data

    def accept(self, row: Row) -> tuple[str, str] | None:
        try:
            pair = parse_accept(row.data)
        except ServiceError:
            refs = {ref_name(row.data.get("question")), ref_name(row.data.get("answer"))}
            if not refs & self.failed:  # one mistake (a failed row), one message
                self.fail(row, f'must be {{"question": "{REF_PREFIX}…", "answer": '
                          f'"{REF_PREFIX}…"}}')
            return None
        question, answer = pair.question, pair.answer
        if question in self.failed or answer in self.failed:
            return None
        if self.kinds.get(question) != "question":
            self.fail(row, f"question: ref:{question} is not a question in this file", "question")
        elif self.replies.get(answer) != question:
            self.fail(row, f"answer: ref:{answer} is not an answer to ref:{question} in this "
                      "file", "answer")
        else:
            return question, answer
        return None


async def check_batch(ctx: NodeContext, batch: ImportBatch) -> ImportPlan:
    """Validate every row and every link between rows; raise ``ImportRowsError`` listing all."""
    check = _Checker(ctx)
    for row in [*batch.initiatives, *batch.items, *batch.accepts]:
        if row.problem:
            check.fail(row, row.problem)
    initiatives = [data for row in batch.initiatives if not row.problem
                   if (data := check.initiative(row)) is not None]
    items = []
    async with ctx.db.sessions() as session:
        for row in batch.items:
            if not row.problem and (planned := await check.item(session, row)) is not None:
                items.append(planned)
    accepts = [pair for row in batch.accepts if not row.problem
               if (pair := check.accept(row)) is not None]
    if check.errors:
        # Problems found in later passes are reported in file order, like the others.
        order = {row.label: n for n, row in enumerate([*batch.initiatives, *batch.items,
                                                      *batch.accepts])}
        raise ImportRowsError(sorted(check.errors, key=lambda e: order.get(e.row, 0)))
    return ImportPlan(initiatives, items, accepts)


async def _check_author(session: AsyncSession, ctx: NodeContext, ref: str | None,
                        in_file: dict[str, str]) -> str | None:
    """Why the item's ``initiative`` cannot be its author, or None if it can."""
    if ref is None:
        return None  # the node actor
    handle = ctx.urls.local_handle(ref) if "://" in ref else ref
    if handle is None:
        return f"initiative: {ref!r} is not an initiative of this node"
    if handle in in_file or await _actor_exists(session, handle):
        return None
    return f"initiative: no initiative {handle!r} in this file or on this node"



# --- creating -------------------------------------------------------------------------------------


def _item_key(author: str, kind: str, title: str | None, content: str | None,
              in_reply_to: str | None) -> tuple[str, ...]:
    return (author, kind, title or content or "", in_reply_to or "")


async def _create_initiatives(ctx: NodeContext, plan: ImportPlan, report: ImportReport) -> None:
    for initiative in plan.initiatives:
        async with ctx.db.sessions() as session:
            existing = await actor_store.get_local(session, initiative.handle)
        if existing is not None:
            report.initiatives_skipped += 1
            report.notes.append(f"initiative {initiative.handle!r} exists, skipped")
        else:
            await create_initiative(ctx, initiative, SYSTEM)
            report.initiatives_created += 1


async def _create_items(ctx: NodeContext, plan: ImportPlan, report: ImportReport, *,
                        batch_size: int, advance: Advance, text_worker: bool | None = None
                        ) -> dict[str, str]:
    """Create the items in file order, ``batch_size`` per transaction; the IRI of every ref
    (created or found). ``text_worker``: whether the items' texts are prepared in a worker process
    (``node.services.texts``); None: when it is worth one.

    Each item gets its IRI before its batch is written, so an answer can point at a question
    of the same batch. A batch commits whole or not at all: after a crash, a re-run finds the
    committed batches' items (same author, kind, title or content, question) and skips them.
    """
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
        if node is None:
            raise NotFoundError("not_found", "this node has no node actor: run `kennisknoop "
                                "init`")
        existing = {_item_key(author, kind, title, content, reply): ap_id
                    for ap_id, author, kind, title, content, reply
                    in await object_store.local_item_keys(session)}
    refs: dict[str, str] = {}
    batches: list[list[NewItem]] = [[]]
    for planned in plan.items:
        item = planned.data
        if planned.reply_ref is not None:
            item = item.model_copy(update={"in_reply_to": refs[planned.reply_ref]})
        author = node.ap_id if item.initiative is None else (
            item.initiative if "://" in item.initiative else ctx.urls.actor(item.initiative))
        key = _item_key(author, item.kind, item.title, item.content,
                        getattr(item, "in_reply_to", None))
        ap_id = existing.get(key)
        if ap_id is not None:
            report.items_skipped += 1
            report.notes.append(f"{planned.label}: the same {item.kind} exists, skipped")
            advance(1)
        else:
            ap_id = existing[key] = new_item_iri(ctx)
            if len(batches[-1]) >= batch_size:
                batches.append([])
            batches[-1].append(NewItem(ap_id, item))
        if planned.ref is not None:
            refs[planned.ref] = ap_id
    if text_worker is None:
        text_worker = worth_a_process(sum(map(len, batches)), len(batches))
    worker = TextWorker() if text_worker else None
    try:
        await _write_all(ctx, batches, worker, report, advance)
    finally:
        if worker is not None:
            worker.close()
    return refs


async def _write_all(ctx: NodeContext, batches: list[list[NewItem]], worker: TextWorker | None,
                     report: ImportReport, advance: Advance) -> None:
    """Write ``batches`` in order; with a ``worker``, the next batch's texts are prepared by it
    while this one is signed and written (the first batch's here: nothing to overlap with)."""
    ahead: asyncio.Future[list[Texts]] | None = None
    for at, batch in enumerate(batches):
        texts = await ahead if ahead is not None else None
        ahead = worker.prepare(sources(batches[at + 1])) \
            if worker is not None and at + 1 < len(batches) else None
        await create_items(ctx, batch, SYSTEM, texts=texts)
        report.items_created += len(batch)
        advance(len(batch))


async def _accept_answers(ctx: NodeContext, plan: ImportPlan, refs: dict[str, str],
                          report: ImportReport) -> None:
    for question_ref, answer_ref in plan.accepts:
        question, answer = refs[question_ref], refs[answer_ref]
        async with ctx.db.sessions() as session:
            stored = await object_store.get(session, question)
        if stored is not None and stored.fields.get("accepted_answer") == answer:
            continue  # accepted by an earlier import: no new version, no new Update
        await update_item(ctx, question, Patch({"accepted_answer": answer}), SYSTEM)
        report.answers_accepted += 1


def _quiet(n: int = 1) -> None:
    return None


async def apply_plan(ctx: NodeContext, plan: ImportPlan, *, batch_size: int = BATCH_SIZE,
                     advance: Advance = _quiet, text_worker: bool | None = None
                     ) -> ImportReport:
    """Create what a validated plan holds, in order, skipping what the node already has;
    ``advance(n)`` is told of every row done (``plan.size`` in all). ``text_worker``: see
    ``_create_items`` (tests choose; an import leaves it to the number of batches and cores)."""
    report = ImportReport()
    await _create_initiatives(ctx, plan, report)
    advance(len(plan.initiatives))
    refs = await _create_items(ctx, plan, report, batch_size=batch_size, advance=advance,
                               text_worker=text_worker)
    await _accept_answers(ctx, plan, refs, report)
    advance(len(plan.accepts))
    return report


async def import_batch(ctx: NodeContext, batch: ImportBatch, *, batch_size: int = BATCH_SIZE
                       ) -> ImportReport:
    """Validate every row, then create everything (or, if any row fails, nothing)."""
    return await apply_plan(ctx, await check_batch(ctx, batch), batch_size=batch_size)


async def import_file(ctx: NodeContext, path: Path) -> ImportReport:
    return await import_batch(ctx, load_file(path))
