"""node.services.texts: an item's HTML, search column and index terms, prepared at once or in a
worker process, are what the one-at-a-time paths compute."""

from __future__ import annotations

import random

import pytest

from node.services import texts
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
        made = texts_of(title, summary, body)
        assert made.content_html == render_markdown(body)
        assert made.search_text == search_text(title or "", summary or "", body)
        assert made.terms == index_text(title, summary, body)


async def test_a_worker_process_prepares_the_same_texts_as_this_one() -> None:
    worker = TextWorker()
    try:
        prepared = await worker.prepare(SAMPLES)
    finally:
        worker.close()
    assert prepared == texts_many(SAMPLES)


def _machine(monkeypatch: pytest.MonkeyPatch, cores: int, load: float) -> None:
    """The machine's cores and load average: external to the code, so set here."""
    monkeypatch.setattr(texts.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(texts.os, "getloadavg", lambda: (load, load, load))


def test_a_worker_is_started_only_for_several_batches_of_many_items(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, cores=2, load=0.2)
    assert worth_a_process(items=10_000, batches=10)
    assert not worth_a_process(items=1_000, batches=1)
    assert not worth_a_process(items=2_000, batches=2)  # starting it would cost more


@pytest.mark.parametrize(("cores", "load"), [(1, 0.0), (2, 1.5), (4, 3.2)])
def test_no_worker_is_started_without_a_core_to_spare(
        monkeypatch: pytest.MonkeyPatch, cores: int, load: float) -> None:
    _machine(monkeypatch, cores=cores, load=load)
    assert not worth_a_process(items=10_000, batches=10)
