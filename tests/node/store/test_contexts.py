"""Known ``@context`` values stored by number (node.store.contexts): exact both ways, whatever
the text holds, and every context the node signs with is one of them."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.store import contexts
from node.store.db import json_text, json_text_of, json_value
from protocol.context import build_actor_context, build_context

ITEM_CONTEXT = build_context()


def _signed_like(body: dict[str, Any]) -> dict[str, Any]:
    """A document shaped like the node's: its context, and again in its proof."""
    return {"@context": ITEM_CONTEXT, **body,
            "proof": {"type": "DataIntegrityProof", "@context": ITEM_CONTEXT, "proofValue": "z1"}}


def test_every_context_the_node_signs_with_is_stored_by_number() -> None:
    # A term added to protocol.context must come with a new number in the file
    known = set(contexts.CONTEXTS.values())
    for context in (build_context(), build_context(data_integrity=False), build_actor_context()):
        assert orjson.dumps(context).decode() in known


def test_the_numbers_are_frozen() -> None:
    # Stored rows name a context by number for ever: the file's contexts never change
    raw = json.loads(resources.files("node.data").joinpath("stored-contexts.json").read_text())
    assert contexts.digest({int(k): orjson.dumps(v).decode() for k, v in raw.items()}) == \
        contexts.DIGEST
    assert sorted(contexts.CONTEXTS) == list(range(1, len(contexts.CONTEXTS) + 1))


def test_a_signed_document_is_stored_in_a_third_and_read_back_byte_for_byte() -> None:
    document = _signed_like({"id": "https://a.test/items/1", "type": "Note",
                             "object": {"@context": build_actor_context(), "id": "x"},
                             "content": "Hoi \"@context\":1 ☃"})
    text = orjson.dumps(document).decode()
    stored = json_text(document)
    assert stored.startswith(" ") and len(stored) < len(text) - 3 * 2000
    assert contexts.unpack(stored) == text
    assert orjson.dumps(json_value(stored)) == text.encode()
    assert orjson.dumps(json_value(stored.encode())) == text.encode()  # psycopg hands bytes


def test_a_content_map_repeating_the_content_is_stored_once() -> None:
    html = '<p>Zie <a href="https://a.test/x">dit</a> \\" en "contentMap":{"nl":0}</p>\n'
    document = _signed_like({"id": "https://a.test/items/1", "content": html,
                             "source": {"content": "Zie [dit](https://a.test/x)"},
                             "contentMap": {"nl": html}, "tag": []})
    text = orjson.dumps(document).decode()
    stored = json_text(document)
    assert '"contentMap":{"nl":0}' in stored and stored.count("a.test/x") == 2  # html, source
    assert contexts.unpack(stored) == text
    # A map with another value, or more than one language, stays whole
    for other in ({"nl": html + " "}, {"nl": html, "fy": html}, {"nl": 0}):
        whole = orjson.dumps({**document, "contentMap": other}).decode()
        assert contexts.unpack(json_text(orjson.loads(whole))) == whole


def test_a_text_that_would_not_come_back_exactly_is_stored_as_it_is() -> None:
    # A received document holding "@context":1 as a value of its own
    document = _signed_like({"id": "https://a.test/items/1", "tag": {"@context": 1}})
    text = orjson.dumps(document).decode()
    assert json_text(document) == text
    assert json_value(text) == document
    # And texts without a known context, or none at all, are untouched
    for value in ({"@context": ["https://www.w3.org/ns/activitystreams"]}, [1, 2], {}, "x"):
        assert json_text(value) == orjson.dumps(value).decode()


values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=12)
    | st.sampled_from(['"@context":1', '"@context":[', '\\"@context\\":2,', " ", "<p>\\</p>",
                       '"content":"', '"contentMap":{"nl":0}', 'a\\"b"', "<p>\\</p>"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["@context", "a", "proof", '"@context":3}', "content", "contentMap",
                         "nl", '"content":"']), inner, max_size=4),
    max_leaves=12)
contexts_or_values = st.sampled_from([ITEM_CONTEXT, build_actor_context(), 1, 2, 99]) | values


@settings(derandomize=True, deadline=None, max_examples=300,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["@context", "id", "object", "proof", "content",
                                        "contentMap"]),
                       contexts_or_values | st.dictionaries(
                           st.sampled_from(["@context", "y"]), contexts_or_values, max_size=3),
                       max_size=5))
def test_any_document_reads_back_as_written(document: dict[str, Any]) -> None:
    text = orjson.dumps(document).decode()
    stored = json_text(document)
    assert contexts.unpack(stored) == text
    assert json_value(stored) == document
    assert stored == text or stored.startswith(" ")


def _replaced_in_turn(text: str) -> str:
    """What ``pack`` did before ``_contexts_out``: each known context replaced in turn."""
    for number, context in contexts.CONTEXTS.items():
        text = text.replace(f'"@context":{context}', f'"@context":{number}')
    return text


KNOWN = list(contexts.CONTEXTS.values())
PIECES = [*KNOWN, *(c[:-1] for c in KNOWN), *(c[: len(c) // 2] for c in KNOWN),
          *(c[c.find('"@context":'):] for c in KNOWN), '"@context":', '"@context":1', "1", ",",
          "}", "]", '"', '\\"@context\\":', " ", "x"]


@settings(derandomize=True, deadline=None, max_examples=300)
@given(st.lists(st.integers(0, len(PIECES) - 1), max_size=12))
def test_contexts_found_in_one_pass_as_replaced_in_turn(picks: list[int]) -> None:
    text = "".join(PIECES[i] for i in picks)
    assert contexts._contexts_out(text) == _replaced_in_turn(text)


def test_the_known_contexts_are_found_in_one_pass() -> None:
    assert contexts._NUMBERED  # every stored context holds a scoped "@context": (checked)
    assert all('"@context":' in text for text in KNOWN)


def test_contexts_that_could_overlap_are_replaced_in_turn() -> None:
    outer = '["a",{"t":{"@context":["b"]}}]'
    assert contexts._scannable([outer, '["c"]'])
    assert not contexts._scannable([outer, '["b"]'])  # a scoped context is a known one
    assert not contexts._scannable([outer, '["b"]}}],"x"'])  # or what follows starts one
    assert contexts._scannable([outer, '["b"],"x"]'])  # (no match could start inside)
    assert not contexts._scannable(['["a",{"t":{"@context":1}}]'])  # a number follows
    assert not contexts._scannable(['["a"]', '["a"]]'])  # one starts another
    assert not contexts._scannable(["1"])


def _pack_by_unpacking(text: str) -> str:
    """``pack`` as it was: every packed text checked by unpacking it."""
    if '"@context":[' not in text and '"contentMap":{"' not in text:
        return text
    packed = contexts._contexts_out(text)
    found = contexts._content_map(packed)
    if found and packed.startswith(found[0] + "}", found[1]):
        packed = packed[:found[1]] + "0" + packed[found[1] + len(found[0]):]
    if packed == text:
        return text
    return " " + packed if contexts.unpack(" " + packed) == text else text


MAP_PIECES = [*PIECES, '"content":"<p>x</p>"', '"contentMap":{"nl":', '"<p>x</p>"', "0", '"a\\"',
              '"content":"a\\"b"', "{", ":"]


@settings(derandomize=True, deadline=None, max_examples=600)
@given(st.lists(st.integers(0, len(MAP_PIECES) - 1), max_size=14))
def test_pack_knows_without_unpacking_what_unpacking_would_tell(picks: list[int]) -> None:
    text = "".join(MAP_PIECES[i] for i in picks)
    assert contexts.pack(text) == _pack_by_unpacking(text)
    if not text.startswith(" "):  # (no JSON text does: a packed one does)
        assert contexts.unpack(contexts.pack(text)) == text


@settings(derandomize=True, deadline=None, max_examples=300,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["@context", "id", "object", "proof", "content",
                                        "contentMap"]),
                       contexts_or_values | st.dictionaries(
                           st.sampled_from(["@context", "y", "nl"]), contexts_or_values,
                           max_size=3),
                       max_size=5))
def test_pack_of_a_document_is_what_unpacking_would_tell(document: dict[str, Any]) -> None:
    text = orjson.dumps(document).decode()
    assert contexts.pack(text) == _pack_by_unpacking(text)


def test_json_text_of_a_body_is_json_text_of_its_value() -> None:
    document = _signed_like({"id": "https://a.test/items/1", "content": "<p>x</p>",
                             "contentMap": {"nl": "<p>x</p>"}})
    body = orjson.dumps(document)
    assert json_text_of(body) == json_text(document)
    assert json_text(json_text_of(body)) is not None and json_text(json_text_of(body)) == \
        json_text(document)  # written as it is
    assert json_value(json_text_of(body)) == document
