"""What a local item's text becomes, computed on its own: its HTML (Markdown rendered and
sanitised), its ``search_text`` column and its search index terms — for many items at once, in
a worker process where an import has a core to spare (docs/performance.md, "Import: texts in a
worker process").

Each is a pure function of the item's title, summary and Markdown source, so a worker process
computes exactly what the importing process would (``items.new_item_values`` and
``search_index.item_doc`` take them as given). The Markdown is most of an imported item's CPU
after its signatures; a worker prepares the next batch's texts while the importing process
signs and writes the current one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

from node.services.content import render_markdown
from node.services.search_text import IndexText, analyse

Source = tuple[str | None, str | None, str]  # title, summary, Markdown content


@dataclass(frozen=True)
class Texts:
    """An item's derived text columns and index terms."""

    content_html: str
    search_text: str
    terms: IndexText


def texts_of(title: str | None, summary: str | None, content: str) -> Texts:
    """``content_html`` and ``search_text`` as ``items.new_item_values`` derives them, and the
    terms ``search_index.item_doc`` indexes a local item with (its body is its source)."""
    column, terms = analyse(title, summary, content)
    return Texts(render_markdown(content), column, terms)


def texts_many(sources: Sequence[Source]) -> list[Texts]:
    """:func:`texts_of` of each source, in order (what a worker process runs)."""
    return [texts_of(*source) for source in sources]


# Starting the worker costs about a second of CPU (a spawned interpreter imports the
# importing program's main module: ``node.cli``), paid back only over thousands of items.
WORKER_MIN_ITEMS = 5_000


def worth_a_process(items: int, batches: int) -> bool:
    """Whether an import of ``items`` items in ``batches`` batches prepares texts in a worker
    process: when a batch can be prepared while the first is written, there are enough items
    to pay for starting it (:data:`WORKER_MIN_ITEMS`), and a core to spare — more than one,
    and the load average a whole core below their number. On a busy machine the worker only
    adds its start to the CPU and competes with the import for a core (measured:
    docs/performance.md)."""
    if batches < 2 or items < WORKER_MIN_ITEMS:
        return False
    cores = os.cpu_count() or 1
    return cores > 1 and os.getloadavg()[0] <= cores - 1


class TextWorker:
    """One worker process preparing texts (``texts_many``) beside the caller's event loop.

    ``spawn``, not ``fork``: the importing process runs threads (the database's), which a
    forked child would inherit mid-operation.
    """

    def __init__(self) -> None:
        self._pool: Executor = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def prepare(self, sources: Sequence[Source]) -> asyncio.Future[list[Texts]]:
        """Start preparing ``sources``; await the result when it is needed."""
        return asyncio.get_running_loop().run_in_executor(self._pool, texts_many, list(sources))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
