"""The baseline every attack starts from, duplicates, and a few attacks on PostgreSQL too.

The attack classes live beside this file: ``test_transport_attacks.py`` (size, media type, strict
JSON), ``test_signature_attacks.py``, ``test_identity_attacks.py`` (FEP-fe34 origins, keys,
ownership) and ``test_jsonld_and_content.py`` (JSON-LD keywords, LD signatures, hostile HTML).
Floods and rate limits, SSRF (``tests/node/test_remote.py``) and the UI's CSRF
(``tests/node/web/test_ui_auth.py``) are tested elsewhere.
"""

from __future__ import annotations

import pytest

from tests.hardening.conftest import Refuse, World


async def test_baseline_create_is_accepted_and_applied(world: World) -> None:
    # Given Mallory's valid, freshly signed Create of her own note
    activity = world.activity()
    # When it is posted and the worker runs
    sent = await world.post(activity)
    await world.work()
    # Then it was accepted, applied, and her actor cached
    assert sent.status == 202
    assert await world.inbox_state(activity["id"]) == "done"
    stored = await world.stored(activity["object"]["id"])
    assert stored is not None and stored.attributed_to == world.mallory.ap_id


async def test_baseline_rfc9421_create_is_accepted(world: World) -> None:
    sent = await world.post(world.activity(), flavour="rfc9421")
    assert sent.status == 202


async def test_duplicate_of_an_accepted_activity_is_202_and_changes_nothing(world: World) -> None:
    # Given an accepted and applied Create
    activity = world.activity()
    assert (await world.post(activity)).status == 202
    await world.work()
    before = await world.counts()
    # When the same activity arrives again, freshly signed, with its object altered
    altered = world.activity(obj=world.note(content="<p>Iets anders</p>"))
    world.clock.advance(30)
    again = await world.post(altered)
    await world.work()
    # Then it is answered 202 and nothing changed: no row, no new content
    assert again.status == 202
    assert await world.counts() == before
    stored = await world.stored(activity["object"]["id"])
    assert stored is not None and stored.content_html == "<p>Hallo Drenthe</p>"


@pytest.mark.postgres
@pytest.mark.parametrize("hardening_db", ["postgres"], indirect=True)
async def test_on_postgres_a_forged_actor_leaves_no_row(world: World, refused: Refuse) -> None:
    wire = world.sign(world.activity(actor=world.alice, obj=world.note(world.alice)))
    await refused(wire, 403, "actor_mismatch", allowed=[world.mallory.ap_id])


@pytest.mark.postgres
@pytest.mark.parametrize("hardening_db", ["postgres"], indirect=True)
async def test_on_postgres_a_replay_after_the_window_is_refused(world: World,
                                                                refused: Refuse) -> None:
    wire = world.sign(world.activity())
    world.clock.advance(2 * 3600)
    await refused(wire, 401, "signature_expired", allowed=[world.mallory.ap_id])


@pytest.mark.postgres
@pytest.mark.parametrize("hardening_db", ["postgres"], indirect=True)
async def test_on_postgres_a_duplicate_is_202_and_changes_nothing(world: World) -> None:
    activity = world.activity()
    assert (await world.post(activity)).status == 202
    before = await world.counts()
    assert (await world.post(activity)).status == 202
    assert await world.counts() == before
