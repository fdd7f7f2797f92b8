"""JSON-LD tricks and hostile HTML in remote content.

JSON-LD: a node reads compacted AS2 terms as plain names and never interprets ``@context``, so a
remote context is never fetched; ``@graph``, ``@included`` and ``@reverse`` would hide nodes from
that reading and are refused (``protocol.parse``); embedded LD signatures (``signature``) are
ignored — they neither break an otherwise valid activity nor vouch for a relayed object.
Well-formed JSON that is not an activity at all, or a malformed one of a type we act on, is
refused as semantic (422); a signed activity of a type we ignore is answered 202
(``test_unhandled_activities.py``).

Content: script, event handlers, ``javascript:`` and ``data:`` URLs, iframes, SVG and style in
remote HTML are removed by the one sanitiser before storage (``content_html``) and are absent
from the page that shows the remote answer (the question's item page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from tests.hardening.conftest import AS, NODE_HOST, Refuse, Wire, World

LD_SIGNATURE = {
    "type": "RsaSignature2017", "creator": "https://victim.test/actors/alice#main-key",
    "created": "2026-11-27T08:55:00Z", "signatureValue": "bm90IGEgc2lnbmF0dXJl",
}


# --- refused shapes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[World], dict[str, Any]]
    reason: str


SHAPES = [
    Case("graph-at-the-top-level",
         lambda w: w.activity() | {"@graph": [w.activity(actor=w.alice, n="2")]},
         "forbidden_keyword"),
    Case("included-at-the-top-level",
         lambda w: w.activity() | {"@included": [w.note(w.alice)]}, "forbidden_keyword"),
    Case("reverse-at-the-top-level",
         lambda w: w.activity() | {"@reverse": {"attributedTo": w.alice.ap_id}},
         "forbidden_keyword"),
    Case("graph-in-the-object",
         lambda w: w.activity(obj=w.note() | {"@graph": [w.note(w.alice)]}),
         "forbidden_keyword"),
    Case("context-of-numbers", lambda w: w.activity() | {"@context": [AS, 5]}, "bad_field"),
    Case("activity-without-id", lambda w: w.activity(id=None), "missing_id"),
    Case("activity-id-not-http", lambda w: w.activity(id="urn:uuid:0f1e2d3c"), "bad_id"),
    Case("activity-without-actor",
         lambda w: {k: v for k, v in w.activity().items() if k != "actor"}, "missing_field"),
    Case("two-actors", lambda w: w.activity() | {"actor": [w.mallory.ap_id, w.alice.ap_id]},
         "bad_field"),
    Case("two-objects", lambda w: w.activity(obj=[w.note(), w.note(n="2")]), "bad_field"),
    Case("unhandled-type-without-actor",
         lambda w: {k: v for k, v in w.activity("Like", w.note()["id"]).items() if k != "actor"},
         "missing_field"),
    Case("actor-with-userinfo",
         lambda w: w.activity() | {"actor": "https://victim.test@evil.test/actors/mallory"},
         "bad_field"),
]


@pytest.mark.parametrize("case", SHAPES, ids=[c.id for c in SHAPES])
async def test_unacceptable_shape_is_refused_before_any_fetch(world: World, refused: Refuse,
                                                              case: Case) -> None:
    await refused(world.sign(case.build(world)), 422, case.reason, allowed=())


# --- accepted, and nothing hidden in them counts ------------------------------------------------

async def test_remote_context_is_never_fetched(world: World) -> None:
    # Given an activity whose @context names documents on Mallory's host (served, if asked)
    contexts = [f"{world.evil.origin}/context.jsonld", f"{world.evil.origin}/imported.jsonld"]
    for url in contexts:
        world.evil.serve(url, {"@context": {"content": "@id"}}, content_type="application/ld+json")
    context = [AS, contexts[0], {"@import": contexts[1], "kk": "https://evil.test/ns#"}]
    activity = world.activity(obj=world.note() | {"@context": context}) | {"@context": context}
    # When it is received and applied
    assert (await world.post(activity)).status == 202
    await world.work()
    # Then it was stored, and neither context was ever requested
    assert await world.stored(activity["object"]["id"]) is not None
    assert not any(world.net.requested(url) for url in contexts)


async def test_bogus_ld_signature_is_ignored(world: World) -> None:
    # Given a valid HTTP signature and an LD signature block that verifies nothing
    activity = world.activity(signature=LD_SIGNATURE)
    # When it is received and applied
    assert (await world.post(activity)).status == 202
    await world.work()
    # Then the block neither broke it nor made the node fetch its "creator"
    assert await world.inbox_state(activity["id"]) == "done"
    assert await world.stored(activity["object"]["id"]) is not None
    assert not world.net.requested(LD_SIGNATURE["creator"])


@pytest.mark.parametrize("where", ["object", "activity"])
async def test_ld_signature_cannot_vouch_for_a_relayed_object(world: World, where: str) -> None:
    # Given Mallory relays a note that claims to be Alice's, "signed" the LD way
    forged = world.note(world.alice, "9", content="<p>Vervalst</p>")
    inner: dict[str, Any] = forged | {"signature": LD_SIGNATURE}
    if where == "activity":
        inner = world.activity(actor=world.alice, obj=forged, signature=LD_SIGNATURE)
    announce = world.activity("Announce", inner)
    # When it is received and applied
    assert (await world.post(announce)).status == 202
    await world.work()
    # Then Alice's origin (which knows no such note) decided: nothing stored
    assert world.net.requested(forged["id"])
    assert await world.stored(forged["id"]) is None


# --- hostile HTML --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Html:
    id: str
    content: str
    never: tuple[str, ...]  # substrings absent from the stored HTML and from the page


HOSTILE = [
    Html("script", '<p>kk-visible</p><script>alert("kk-script")</script>', ("kk-script", "<script")),
    Html("event-handlers", '<p onmouseover="kkSteal()">kk-visible</p><img src=x onerror=kkSteal()>',
         ("kkSteal", "onmouseover", "onerror")),
    Html("javascript-url", '<p><a href="javascript:kkSteal()">kk-visible</a></p>',
         ("kkSteal", "javascript:")),
    Html("javascript-url-with-entities",
         '<p><a href="jav&#x09;ascript&colon;kkSteal()">kk-visible</a></p>', ("kkSteal",)),
    Html("data-url", '<p><a href="data:text/html;base64,a2stZGF0YQ==">kk-visible</a></p>',
         ("data:text/html", "a2stZGF0YQ")),
    Html("iframe", '<p>kk-visible</p><iframe src="https://evil.test/kk-frame"></iframe>',
         ("kk-frame", "<iframe")),
    Html("svg", '<p>kk-visible</p><svg onload="kkSteal()"><a href="javascript:kkSteal()">'
         "<text>kk-svg</text></a></svg>", ("kkSteal", "kk-svg", "<svg")),
    Html("style", '<style>body{display:none}</style><p style="position:fixed">kk-visible</p>',
         ("display:none", "position:fixed")),
    Html("form", '<form action="https://evil.test/kk-form"><input name=pw></form><p>kk-visible</p>',
         ("kk-form", "<input")),
]


async def _question_page(world: World) -> tuple[str, Callable[[], Any]]:
    question = await create_item(world.ctx, item_input(
        kind="question", title="Hoe regelen jullie de vrijwilligers?", content="Wie weet raad?"),
        SYSTEM)

    async def page() -> str:
        path = question.ap_id.removeprefix(f"https://{NODE_HOST}")
        sent = await world.send(Wire("GET", path, {"Host": NODE_HOST, "Accept": "text/html"},
                                     b""))
        assert sent.status == 200
        return sent.body.decode()

    return question.ap_id, page


@pytest.mark.parametrize("html", HOSTILE, ids=[h.id for h in HOSTILE])
async def test_hostile_html_is_removed_before_storage_and_display(world: World,
                                                                  html: Html) -> None:
    # Given a local question
    question, page = await _question_page(world)
    # When Mallory answers it with hostile HTML
    answer = world.note(content=html.content, inReplyTo=question)
    assert (await world.post(world.activity(obj=answer))).status == 202
    await world.work()
    # Then the stored HTML and the question's page keep the text and drop the rest
    stored = await world.stored(answer["id"])
    assert stored is not None and stored.content_html is not None
    # (the page's own content: its header has the site's search form, with an <input>)
    shown = (await page()).split("<main", 1)[1]
    assert "kk-visible" in stored.content_html and "kk-visible" in shown
    for fragment in html.never:
        assert fragment not in stored.content_html, fragment
        assert fragment not in shown, fragment


async def test_markup_in_remote_names_is_escaped_on_the_page(world: World) -> None:
    # Given an actor whose name, and an answer whose name, carry markup
    world.evil.serve(world.mallory.ap_id, world.mallory.document(
        name='<script>alert("kk-actor")</script>Mallory'))
    question, page = await _question_page(world)
    answer = world.note(content="<p>kk-visible</p>", inReplyTo=question,
                        name='<img src=x onerror="kkSteal()">kk-title')
    # When the answer is received and shown
    assert (await world.post(world.activity(obj=answer))).status == 202
    await world.work()
    shown = await page()
    # Then no markup from them reaches the page as markup
    assert "kk-title" in shown and "kkSteal" not in shown
    assert '<script>alert("kk-actor")' not in shown
