"""A real bovine-herd server on 127.0.0.1, run from the interop virtualenv (not ours).

Runs in ``.venv-interop`` (see ``tests/interop/conftest.py``): bovine-herd, bovine-store and
bovine-process exactly as published, served by Hypercorn (the server Quart ships with). This
script only does what an admin of a bovine-herd instance does by hand with
``python -m bovine_store register`` and ``key --new``: create the database, register one actor
and give it a did:key identity so a client can drive it over client-to-server (Moo-Auth-1).
Nothing of bovine's request handling, signing, verifying or delivery is replaced.

Usage: ``python herd_server.py PORT DIRECTORY HANDLE``. Writes ``DIRECTORY/actor.json``
(actor id, endpoints, did:key and its secret) once it is serving, then serves until killed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from bovine.crypto import generate_ed25519_private_key, private_key_to_did_key
from bovine.types import Visibility
from bovine_herd import BovineHerd
from bovine_store import bovine_admin_store
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart
from tortoise import Tortoise


async def register(db_url: str, origin: str, handle: str) -> dict[str, object]:
    """Create the tables and one actor with a Moo-Auth-1 identity; its public facts."""
    async with bovine_admin_store(db_url=db_url, domain=origin) as store:
        await Tortoise.generate_schemas()
        bovine_name = await store.register(handle)
        secret = generate_ed25519_private_key()
        did_key = private_key_to_did_key(secret)
        await store.add_identity_string_to_actor(bovine_name, "interop", did_key)
        actor = await store.actor_for_name(bovine_name)
        assert actor is not None
        document = actor.actor_object.build(visibility=Visibility.OWNER)
        await actor.session.close()
    return {"bovine_name": bovine_name, "actor": document, "did_key": did_key,
            "secret": secret, "handle": handle}


async def main(port: int, directory: Path, handle: str) -> None:
    origin = f"http://127.0.0.1:{port}"
    db_url = f"sqlite://{directory / 'herd.sqlite3'}"
    facts = await register(db_url, origin, handle)
    app = BovineHerd(Quart("kennisknoop_interop_herd"), db_url=db_url)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = "-"
    config.errorlog = "-"

    @app.before_serving
    async def announce() -> None:
        # Written once the app is about to accept requests; the test waits for this file.
        (directory / "actor.json").write_text(json.dumps(facts))

    await serve(app, config)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="herd %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
