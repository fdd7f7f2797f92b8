"""Fixed test keys: a small pool generated once per test session, cycled for new local actors.

Generating RSA-2048 keys costs tens of milliseconds each; tests that create many actors take keys
from this pool instead (``pool_keygen``). Tests about key distinctness generate their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import cache

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.keys import generate_ed25519, generate_rsa

KeyPair = tuple[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey]
POOL_SIZE = 6


@cache
def key_pool() -> tuple[KeyPair, ...]:
    return tuple((generate_rsa(), generate_ed25519()) for _ in range(POOL_SIZE))


def pool_keygen() -> Callable[[], KeyPair]:
    """A key factory cycling through the pool (one RSA/Ed25519 pair per call)."""
    cycle: Iterator[KeyPair] = itertools.cycle(key_pool())
    return lambda: next(cycle)
