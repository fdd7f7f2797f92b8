"""JSON-LD checks for tests: expand a document with PyLD, offline, with the shipped contexts only.

PyLD is an independent JSON-LD 1.1 processor; its document loader here serves
``protocol.context``'s shipped contexts and refuses everything else, so no test ever fetches a
context. A term that falls through to the AS2 context's ``@vocab`` (``_:``) is an undefined
term: JSON-LD readers drop it, so it counts as a problem too.
"""

from __future__ import annotations

from typing import Any

from pyld import jsonld

from protocol.context import load_context
from protocol.errors import DocumentError


def offline_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A PyLD document loader that serves the shipped contexts and refuses the network."""
    try:
        document = load_context(url)
    except DocumentError as exc:
        raise jsonld.JsonLdError(f"{url} is not a shipped context", "loading document failed",
                                 cause=exc) from exc
    return {"contextUrl": None, "documentUrl": url, "document": document}


def _blank_terms(node: Any, path: str = "") -> list[str]:
    """Where a property or a type expanded to a blank node IRI: an undefined term."""
    found: list[str] = []
    if isinstance(node, list):
        for index, entry in enumerate(node):
            found += _blank_terms(entry, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("_:"):
                found.append(f"{path}/{key}")
            if key == "@type":
                found += [f"{path}/@type {t}" for t in jsonld.JsonLdProcessor.arrayify(value)
                          if isinstance(t, str) and t.startswith("_:")]
            found += _blank_terms(value, f"{path}/{key}")
    return found


def expansion_problems(document: dict[str, Any]) -> list[str]:
    """Why ``document`` does not expand cleanly; empty when it does."""
    try:
        expanded = jsonld.expand(document, {"documentLoader": offline_loader})
    except jsonld.JsonLdError as exc:
        causes = []
        cause: Any = exc
        while cause is not None:
            causes.append(f"{getattr(cause, 'type', type(cause).__name__)}: {cause}")
            cause = getattr(cause, "cause", None)
        return [" <- ".join(causes)[:1000]]
    return _blank_terms(expanded)
