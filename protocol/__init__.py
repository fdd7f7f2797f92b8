"""Kennisknoop's wire protocol: ActivityStreams documents, HTTP signatures and object proofs.

This package is pure: it imports only the standard library, ``cryptography`` and a few small,
well-kept libraries (``rfc8785``, ``http-sfv``, ``httpx`` in ``protocol.httpsig.auth`` only).
It never imports ``node``, starlette or sqlalchemy, so another platform can speak the
Kennisknoop protocol with this package alone.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
