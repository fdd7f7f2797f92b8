"""Kennisknoop node: the server — web, storage, federation engine and command line."""

from __future__ import annotations

__version__ = "0.1.0"
