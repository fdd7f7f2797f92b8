"""Engine and sessions: SQLite write transactions take turns and never nest."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.store.db import Database
from node.store.migrate import upgrade


async def test_a_nested_sqlite_write_transaction_fails_instead_of_hanging(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    db = Database.connect(url)
    try:
        async with db.transaction():
            with pytest.raises(RuntimeError, match="nested"):
                async with db.transaction():
                    pass
        async with db.transaction():  # and the lock is free again afterwards
            pass
    finally:
        await db.dispose()
