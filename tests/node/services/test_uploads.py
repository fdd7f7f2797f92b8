"""The orphan sweep (issue 12): an uploaded file that nothing names is removed once it is older
than ``uploads.orphan_grace_hours``, by the worker's hourly job and by ``kennisknoop
sweep-uploads``; a named one never is, nor one named between the listing and the deletion.

File ages are set with ``os.utime`` relative to the injected clock; the sweep runs through
``worker.run_once`` as in production.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from node import worker
from node.services import attachments, uploads
from node.services.actors import update_initiative
from node.services.context import NodeContext
from node.services.errors import PermissionDeniedError, ValidationError
from node.services.inputs import Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM, Caller
from node.store import actors as actor_store
from node.store import jobs as job_store
from tests.clock import Clock
from tests.node.web import make_initiative, make_item
from tests.node.web.test_admin import admin_client

__all__ = ["admin_client"]  # the fixture, used by name

HOUR = 3600.0


def _file(ctx: NodeContext, content: bytes, *, hours_old: float) -> str:
    """Store ``content`` as an upload last used ``hours_old`` hours ago (by the clock); its URL."""
    stored = attachments.store(ctx.settings.dir, content, ctx.settings.uploads.max_bytes)
    _age(ctx, stored.sha256, hours_old)
    return ctx.urls.file(stored.sha256)


def _age(ctx: NodeContext, sha256_or_url: str, hours_old: float) -> None:
    sha256 = sha256_or_url.rsplit("/", 1)[-1]
    when = (ctx.now() - timedelta(hours=hours_old)).timestamp()
    os.utime(attachments.folder(ctx.settings.dir) / sha256, (when, when))


def _there(ctx: NodeContext) -> set[str]:
    folder = attachments.folder(ctx.settings.dir)
    return {ctx.urls.file(p.name) for p in folder.iterdir()} if folder.is_dir() else set()


def pdf(n: int) -> bytes:
    return b"%PDF-1.7\n" + str(n).encode() * 20


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x05" * 40


async def test_the_worker_removes_old_unnamed_files_and_keeps_every_named_one(
        ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen")
    # Given files named by an item, by an older version of an item only, by an avatar and by a
    # Markdown link, one unnamed but young, and two unnamed and old — all a day or more old
    in_item = _file(ctx, pdf(1), hours_old=48)
    await make_item(ctx, kind="guide", attachments=[{"url": in_item, "name": "Stappenplan"}])
    old_version = _file(ctx, pdf(2), hours_old=48)
    guide = await make_item(ctx, kind="guide", title="Oud",
                            attachments=[{"url": old_version, "name": "Versie 1"}])
    await update_item(ctx, guide.ap_id, Patch({"attachments": ()}), SYSTEM)
    avatar = _file(ctx, PNG, hours_old=48)
    await update_initiative(ctx, "dorpsmolen", Patch({"avatar": avatar}), SYSTEM)
    linked = _file(ctx, pdf(3), hours_old=48)
    await make_item(ctx, content=f"Zie [het verslag](/bestanden/{linked.rsplit('/', 1)[1]}).")
    for url in (in_item, old_version, avatar, linked):
        _age(ctx, url, 48)  # the saves touched them: make them old again
    young = _file(ctx, pdf(4), hours_old=23)
    orphans = {_file(ctx, pdf(5), hours_old=25), _file(ctx, pdf(6), hours_old=24 * 30)}
    # When the worker runs its periodic jobs
    await worker.run_once(ctx)
    # Then only the old unnamed files are gone
    assert _there(ctx) == {in_item, old_version, avatar, linked, young}
    assert not orphans & _there(ctx)
    # And the job comes back every hour
    async with ctx.db.sessions() as session:
        job = await job_store.get(session, uploads.JOB_KIND)
    assert job is not None and job.next_attempt_at == ctx.now() + uploads.INTERVAL


async def test_the_grace_period_is_the_setting(ctx: NodeContext, clock: Clock) -> None:
    url = _file(ctx, pdf(1), hours_old=0)
    clock.advance(23.9 * HOUR)
    assert (await uploads.sweep(ctx)).removed == []
    clock.advance(0.2 * HOUR)
    result = await uploads.sweep(ctx)
    assert [f.sha256 for f in result.removed] == [url.rsplit("/", 1)[1]]
    assert _there(ctx) == set()


async def test_a_dry_run_lists_and_removes_nothing(ctx: NodeContext) -> None:
    url = _file(ctx, pdf(1), hours_old=30)
    result = await uploads.sweep(ctx, dry_run=True)
    assert [f.sha256 for f in result.orphans] == [url.rsplit("/", 1)[1]]
    assert result.removed == [] and _there(ctx) == {url}


async def test_a_file_named_after_the_listing_survives(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an old unnamed file, and an initiative that gets it as its avatar by a direct write
    # (no touch) right after the sweep listed what is named
    await make_initiative(ctx, "dorpsmolen")
    url = _file(ctx, PNG, hours_old=48)
    listing = uploads.upload_store.named_files

    async def list_then_name(session: object) -> set[str]:
        named = await listing(session)  # type: ignore[arg-type]
        async with ctx.db.transaction() as write:
            actor = await actor_store.get_local(write, "dorpsmolen")
            assert actor is not None
            await actor_store.update_values(write, actor.ap_id,
                                            profile={**actor.profile, "avatar": url})
        return named

    monkeypatch.setattr(uploads.upload_store, "named_files", list_then_name)
    # When the sweep runs
    result = await uploads.sweep(ctx)
    # Then the database's second look keeps it, where it was
    assert result.removed == [] and [f.sha256 for f in result.kept] == [url.rsplit("/", 1)[1]]
    assert _there(ctx) == {url}


async def test_a_save_that_checked_the_file_before_the_sweep_moved_it_keeps_it(
        ctx: NodeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an old unnamed file that a save checks (and so touches) right after the listing,
    # the item not yet committed when the sweep looks at the database again
    url = _file(ctx, pdf(1), hours_old=48)
    listing = uploads.upload_store.named_files

    checked: list[bool] = []

    async def list_then_check(session: object) -> set[str]:
        named = await listing(session)  # type: ignore[arg-type]
        if not checked:  # after the first listing only: the save, not yet committed
            attachments.describe_local(ctx.settings.dir, ctx.urls.files_base,
                                       {"attachments": [{"url": url}]})
            checked.append(True)
        return named

    monkeypatch.setattr(uploads.upload_store, "named_files", list_then_check)
    result = await uploads.sweep(ctx)
    assert result.removed == [] and _there(ctx) == {url}


async def test_a_save_naming_a_file_being_removed_is_refused(ctx: NodeContext) -> None:
    # Given a file the sweep has moved aside (as between its two looks)
    url = _file(ctx, pdf(1), hours_old=48)
    sha256 = url.rsplit("/", 1)[1]
    folder = attachments.folder(ctx.settings.dir)
    os.replace(folder / sha256, folder / f"{uploads.QUARANTINE}{sha256}")
    # Then a save naming it is refused rather than left pointing at nothing
    with pytest.raises(ValidationError) as refused:
        attachments.describe_local(ctx.settings.dir, ctx.urls.files_base,
                                   {"attachments": [{"url": url}]})
    assert refused.value.reason == "unknown_attachment"
    # And the next sweep finishes the interrupted one: unnamed, it is deleted
    result = await uploads.sweep(ctx)
    assert [f.sha256 for f in result.removed] == [sha256]
    assert list(folder.iterdir()) == []


async def test_an_interrupted_sweep_of_a_named_file_puts_it_back(ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen", avatar=_file(ctx, PNG, hours_old=0))
    actor_avatar = _there(ctx).pop()
    sha256 = actor_avatar.rsplit("/", 1)[1]
    _age(ctx, sha256, 48)
    folder = attachments.folder(ctx.settings.dir)
    os.replace(folder / sha256, folder / f"{uploads.QUARANTINE}{sha256}")  # crashed here
    await uploads.sweep(ctx)
    assert sorted(p.name for p in folder.iterdir()) == [sha256]


async def test_uploading_the_same_content_again_restarts_the_grace_period(
        ctx: NodeContext) -> None:
    url = _file(ctx, pdf(1), hours_old=48)
    attachments.store(ctx.settings.dir, pdf(1), ctx.settings.uploads.max_bytes)
    assert (await uploads.sweep(ctx)).removed == [] and _there(ctx) == {url}


async def test_stale_temporary_files_of_an_interrupted_upload_go_too(ctx: NodeContext) -> None:
    _file(ctx, pdf(1), hours_old=0)
    folder = attachments.folder(ctx.settings.dir)
    (folder / ".upload-abc").write_bytes(b"half")
    (folder / ".upload-new").write_bytes(b"half")
    when = (ctx.now() - timedelta(hours=48)).timestamp()
    os.utime(folder / ".upload-abc", (when, when))
    await uploads.sweep(ctx)
    assert not (folder / ".upload-abc").exists() and (folder / ".upload-new").exists()


async def test_usage_counts_files_and_orphans_for_admins_only(ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen", avatar=_file(ctx, PNG, hours_old=0))
    _file(ctx, pdf(1), hours_old=1)
    usage = await uploads.usage(ctx, SYSTEM)
    assert (usage.files, usage.orphans, usage.grace_hours) == (2, 1, 24)
    assert usage.bytes == len(PNG) + len(pdf(1)) and usage.orphan_bytes == len(pdf(1))
    with pytest.raises(PermissionDeniedError):
        await uploads.usage(ctx, Caller(user_id=7, username="redacteur", role="editor"))


def test_nothing_stored_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert uploads.stored_files(tmp_path) == []


async def test_the_admin_page_shows_uploads_and_orphans(
        admin_client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "zonnedorp", avatar=_file(ctx, b"\x89PNG\r\n\x1a\n" + b"\x01" * 2_000_000,
                                                           hours_old=0))
    _file(ctx, pdf(1) * 10_000, hours_old=1)  # 290,000 bytes
    html = (await admin_client.get("/beheer")).text
    assert "<h2>Geüploade bestanden</h2>" in html
    assert "2 bestanden, samen 2,2 MB." in html
    assert "Daarvan worden er 1 (0,3 MB) door geen item, initiatief of profiel gebruikt; die " \
           "worden automatisch verwijderd zodra ze meer dan 24 uur oud zijn." in html
    english = (await admin_client.get("/beheer?lang=en")).text
    assert "2 files, 2.2 MB together." in english
