"""node.services.texts: an item's HTML, search column and index terms, prepared at once or in a
worker process, are what the one-at-a-time paths compute."""

from __future__ import annotations

import random

from node.services.content import render_markdown, search_text
from node.services.search_text import analyse, index_text
from node.services.texts import TextWorker, texts_many, texts_of, worth_a_process

SAMPLES = [
    ("Zonnedak op de zuivelfabriek", "Wat werkte", "De **dorpscoöperatie** wekt stroom op."),
    (None, None, "de en Ö ß ﬁ x y 12 a_b snake_case_woord"),  # "_" splits index words only
    ("Fryslân", "", "İstanbul ǅ ᾯ — *mantelzorgers* en dorpsenergieproject"),
    (None, None, ""),
    ("_", "__a__", "- lijst\n- met `code` en [link](https://example.test)\n"),
]


def _random_texts(n: int) -> list[tuple[str, str, str]]:
    rnd = random.Random(13)
    alphabet = "abcdeéëïöüĳ ßÅÆØ \n.,-_0123456789ǅİ"
    return [tuple("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))  # type: ignore[misc]
                  for _ in range(3)) for _ in range(n)]


def test_one_analysis_gives_the_search_column_and_the_index_terms() -> None:
    for title, summary, body in [*SAMPLES, *_random_texts(2_000)]:
        assert analyse(title, summary, body) == (search_text(title, summary, body),
                                                 index_text(title, summary, body))


def test_prepared_texts_are_what_each_path_computes() -> None:
    for title, summary, body in SAMPLES:
        texts = texts_of(title, summary, body)
        assert texts.content_html == render_markdown(body)
        assert texts.search_text == search_text(title or "", summary or "", body)
        assert texts.terms == index_text(title, summary, body)


async def test_a_worker_process_prepares_the_same_texts_as_this_one() -> None:
    worker = TextWorker()
    try:
        prepared = await worker.prepare(SAMPLES)
    finally:
        worker.close()
    assert prepared == texts_many(SAMPLES)


def test_a_worker_is_started_only_for_several_batches_of_many_items() -> None:
    assert not worth_a_process(items=100, batches=1)
    assert not worth_a_process(items=1_000, batches=1)
    assert not worth_a_process(items=2_000, batches=2)  # starting it would cost more
