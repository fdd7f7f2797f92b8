"""protocol.errors: the tree drawn in the module docstring is the class tree."""

from __future__ import annotations

import re

import protocol.errors as errors
from protocol.errors import DigestError, ProtocolError, SignatureError

# A line of the drawing: the class name, indented by its depth in the tree.
_NODE = re.compile(r"    [ │├└─]*([A-Z]\w*Error)\b")


def _drawn_tree() -> dict[str, str | None]:
    """``{class name: parent name}`` as the docstring draws it."""
    assert errors.__doc__ is not None
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column, name) of the ancestors of the current line
    for line in errors.__doc__.splitlines():
        match = _NODE.match(line)
        if match is None:
            continue
        column, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    return parents


def _class_tree() -> dict[str, str | None]:
    found: dict[str, str | None] = {"ProtocolError": None}
    todo: list[type[ProtocolError]] = [ProtocolError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == errors.__name__:
                found[sub.__name__] = cls.__name__
                todo.append(sub)
    return found


def test_the_docstring_drawing_is_the_class_tree() -> None:
    assert _drawn_tree() == _class_tree()


def test_a_digest_error_is_a_signature_error() -> None:
    # verify_request raises SignatureError for every failure, a tampered body included.
    assert issubclass(DigestError, SignatureError)
    assert DigestError("digest_mismatch").reason == "digest_mismatch"
