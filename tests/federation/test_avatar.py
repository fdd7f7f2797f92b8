"""An initiative's avatar travels as the actor's ``icon`` (issue 12): a follower on another node
gets it with the profile and with every later ``Update``, keeps it, and does not hotlink it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from node.services import attachments
from node.services.actors import create_initiative, update_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch
from node.services.permissions import SYSTEM
from node.store import actors as actor_store
from node.store.actors import StoredActor
from tests.federation.harness import Node, federation
from tests.federation.test_directory import Database, database

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x07" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x08" * 40


__all__ = ["database"]  # the fixture (SQLite and PostgreSQL), used by name


def _upload(node: Node, data: bytes) -> str:
    stored = attachments.store(node.ctx.settings.dir, data, node.ctx.settings.uploads.max_bytes)
    return node.ctx.urls.file(stored.sha256)


async def _copy(node: Node, ap_id: str) -> StoredActor:
    async with node.ctx.db.sessions() as session:
        actor = await actor_store.get(session, ap_id)
    assert actor is not None
    return actor


async def test_a_follower_receives_the_icon_and_its_changes(
        tmp_path: Path, database: Database) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        # Given an initiative in Drenthe with a logo, followed from Fryslân
        logo = _upload(drenthe, PNG)
        molen = await create_initiative(drenthe.ctx, InitiativeInput(
            handle="molen", name="Dorpsmolen Zuidlaren", avatar=logo), SYSTEM)
        await follow(fryslan.ctx, molen.ap_id)
        await fed.settle()
        # Then Fryslân holds the signed actor document with the icon, and the profile names it
        copy = await _copy(fryslan, molen.ap_id)
        assert copy.document is not None
        assert copy.document["icon"] == {"type": "Image", "mediaType": "image/png", "url": logo}
        assert logo.endswith(hashlib.sha256(PNG).hexdigest())
        assert copy.profile["avatar"] == logo
        # And Fryslân's pages do not load it from Drenthe (no hotlinking)
        page = await fed.http.get(f"{fryslan.url}/initiatieven")
        assert "Dorpsmolen Zuidlaren" in page.text
        assert logo not in page.text and 'class="avatar' not in page.text
        # When Drenthe changes the logo
        photo = _upload(drenthe, JPEG)
        await update_initiative(drenthe.ctx, molen.ap_id, Patch({"avatar": photo}), SYSTEM)
        await fed.settle()
        # Then the follower's copy has the new icon
        copy = await _copy(fryslan, molen.ap_id)
        assert copy.document is not None
        assert copy.document["icon"] == {"type": "Image", "mediaType": "image/jpeg", "url": photo}
        assert copy.profile["avatar"] == photo
        # And when it is removed, the icon goes too
        await update_initiative(drenthe.ctx, molen.ap_id, Patch({"avatar": None}), SYSTEM)
        await fed.settle()
        copy = await _copy(fryslan, molen.ap_id)
        assert copy.document is not None and "icon" not in copy.document
        assert "avatar" not in copy.profile
