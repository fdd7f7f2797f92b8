"""Search benchmark: our search (match, filters, facets, snippets) beside the bare engine query.

Builds a migrated database (a SQLite file, and a fresh PostgreSQL database on 127.0.0.1:5432),
fills the search index with N generated Dutch-like items (a fixed vocabulary of Dutch words and
compounds drawn with a Zipf-like skew; analysed by the same functions as real items), then times
``node.services.search.search`` — the whole answer: match with compound parts, filters, the
total and all facets over the result set, one page with snippets — for one- and two-word
queries, with and without a facet filter, and beside each, in the same run and on the same
engine connection, the bare query for the same words: FTS5 ``MATCH … ORDER BY rank LIMIT 20`` on
SQLite, ``tsv @@ query ORDER BY ts_rank LIMIT 20`` on PostgreSQL. It prints p50/p95/p99 of both
and the ratio of the p95s; and the p95 of the *engine* query our search sends for the same words
(compound parts and column weights included, best 20) with that ratio: what the search adds.

Figures only, never pass/fail: the machine is shared and noisy; compare within one run.
Target (issue 10): p95 under 50 ms at 100,000 items on SQLite, ratio ≤ 3.

Run: ``python -m bench.search`` (10,000 and 100,000 items, SQLite and PostgreSQL);
``--sizes 10000`` / ``--engines sqlite`` to choose; ``--quick`` for 2,000 items on SQLite;
``--clock cpu`` to time CPU instead of wall time (SQLite; steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.config import build_settings
from node.services.context import NodeContext
from node.services.search import SearchRequest, search
from node.services.search_text import compound_parts, stems
from node.store.db import Database
from node.store.migrate import upgrade
from node.store.search_engines import TextMatch, fts5_match, tsquery

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
KINDS = ("story", "guide", "template", "question", "answer", "bottleneck", "event")
PROVINCES = tuple(f"PV{n}" for n in range(20, 32))
THEMES = ("meeting", "neighbour-help", "meals", "transport", "dementia", "energy-generation",
          "energy-saving", "green-space", "local-food", "broadband", "shop", "village-hall",
          "housing", "education")
_BASE_TEXT = """
dorp dorpen huis huizen energie zorg school molen wind zon water weg kerk winkel bus auto fiets
tuin bos veld boer boerderij buren bewoners vrijwilligers vereniging stichting coöperatie
gemeente provincie subsidie fonds plan project vergadering avond ochtend week jaar kinderen
ouderen jongeren gezin familie vriend buurt straat plein markt feest muziek koor sport voetbal
zwembad bibliotheek dokter apotheek ziekenhuis verpleging hulp steun maaltijd koken eten brood
melk kaas vlees groente fruit appel peer graan akker sloot dijk polder terp wierde veen klei
zand heide duin strand haven schip brug toren molenaar bakker slager kapper timmerman smid
leraar dominee burgemeester wethouder raad bestuur leden lid voorzitter penningmeester
secretaris notulen statuten begroting rekening verslag nieuws brief bericht vraag antwoord
oplossing probleem knelpunt vergunning regel wet beleid visie toekomst verleden geschiedenis
erfgoed monument museum kunst cultuur taal fries drents saksisch glasvezel internet computer
telefoon kabel netwerk stroom warmte gas isolatie dak muur raam deur vloer kamer keuken zolder
kelder schuur stal hek pad laan singel gracht kade oever
"""
BASE_WORDS = _BASE_TEXT.split()
COMPOUND_HEADS = ("dorps", "buurt", "zorg", "energie", "zonne", "wind", "school", "mantel",
                  "huis", "water", "natuur", "sport")
COMPOUND_TAILS = ("project", "huis", "winkel", "coöperatie", "vereniging", "plan", "fonds",
                  "raad", "tuin", "park", "dak", "net", "zorgers", "bus", "avond", "feest")


@dataclass(frozen=True)
class Corpus:
    words: list[str]
    weights: list[float]
    stem_of: dict[str, str]


ONSETS = ("b", "d", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "dr",
          "gr", "kl", "kr", "sl", "sp", "st", "str", "sch", "tw", "zw", "")
VOWELS = ("a", "e", "i", "o", "u", "aa", "ee", "oo", "ie", "oe", "ui", "ei", "ij", "eu", "ou")
CODAS = ("", "n", "r", "l", "k", "t", "s", "m", "nd", "rt", "lt", "ng", "cht", "st", "rk")
PSEUDO_WORDS = 6_000  # real text has a large vocabulary: most words are rare (Zipf)


def _pseudo_words(rng: random.Random, n: int) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < n:
        word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                       for _ in range(rng.choice((1, 2, 2, 3))))
        if len(word) > 2:
            found[word] = None
    return list(found)


def _corpus() -> Corpus:
    compounds = [h + t for h in COMPOUND_HEADS for t in COMPOUND_TAILS if h != t]
    rng = random.Random(7)
    words = list(dict.fromkeys(BASE_WORDS + compounds + _pseudo_words(rng, PSEUDO_WORDS)))
    rng.shuffle(words)
    weights = [1.0 / (rank + 1) for rank in range(len(words))]  # Zipf's law
    stem_of = {w: (stems(w) or [""])[0] for w in words}
    return Corpus(words, weights, stem_of)


def _documents(n: int, corpus: Corpus, seed: int = 1) -> Iterator[dict[str, Any]]:
    """``n`` rows of ``search_docs`` (and their themes), analysed like real items."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    cumulative = list(itertools.accumulate(corpus.weights))
    for i in range(1, n + 1):
        title, summary, body = (rng.choices(corpus.words, cum_weights=cumulative, k=k) for k in
                                (rng.randint(3, 7), rng.randint(8, 16), rng.randint(40, 90)))
        t, s, b = ([corpus.stem_of[w] for w in part] for part in (title, summary, body))
        host = "bench.test" if rng.random() < 0.4 else f"node{rng.randint(1, 11)}.test"
        yield {
            "id": i, "ap_id": f"https://{host}/items/{i}", "doc_type": "item",
            "kind": rng.choice(KINDS), "is_local": host == "bench.test", "host": host,
            "province": rng.choice(PROVINCES), "legal_form": None, "phase": None, "status": None,
            "latitude": 52.0 + rng.random() * 1.5, "longitude": 5.0 + rng.random() * 2.0,
            "url": f"https://{host}/items/{i}", "title": " ".join(title).capitalize(),
            "text": (" ".join(summary) + ".\n" + " ".join(body) + ".").capitalize(),
            "themes": rng.sample(THEMES, rng.randint(1, 2)),
            "published": start + timedelta(minutes=i),
            "terms_title": " ".join(t), "terms_summary": " ".join(s), "terms_body": " ".join(b),
            "terms_parts": " ".join(compound_parts(t + s + b)),
        }


_COLUMNS = ("id", "ap_id", "doc_type", "kind", "is_local", "host", "province", "legal_form",
            "phase", "status", "latitude", "longitude", "url", "title", "text", "themes",
            "published", "terms_title", "terms_summary", "terms_body", "terms_parts")


def _row(doc: dict[str, Any], sqlite: bool) -> tuple[Any, ...]:
    values = dict(doc)
    values["themes"] = "[" + ", ".join(f'"{t}"' for t in doc["themes"]) + "]"
    if sqlite:
        values["published"] = doc["published"].replace(tzinfo=None).isoformat(" ")
    return tuple(values[c] for c in _COLUMNS)


def _load_sqlite(path: Path, n: int, corpus: Corpus) -> None:
    conn = sqlite3.connect(path)
    try:
        placeholders = ", ".join("?" for _ in _COLUMNS)
        for chunk in _chunks(_documents(n, corpus), 5_000):
            conn.executemany(f"INSERT INTO search_docs ({', '.join(_COLUMNS)}) "
                             f"VALUES ({placeholders})", [_row(d, True) for d in chunk])
        # (the triggers of migration 0017 write the themes, FTS5 rows and packed facets)
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _load_postgres(dbname: str, n: int, corpus: Corpus) -> None:
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dbname}") as conn:
        conn.execute("DROP INDEX ix_search_docs_tsv")
        # (the triggers of migration 0017 compute the tsv and write the themes)
        with conn.cursor() as cur, \
                cur.copy(f"COPY search_docs ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for doc in _documents(n, corpus):
                copy.write_row(_row(doc, False))
        conn.execute("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)")
        conn.commit()
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dbname}",
                         autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- timing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    words: int
    facet: bool


CASES = (Case("1 word", 1, False), Case("2 words", 2, False),
         Case("1 word + kind", 1, True), Case("2 words + province", 2, True))


def _bare_sql(sqlite: bool, stems_: list[str]) -> tuple[str, dict[str, str]]:
    """The bare engine query for the words: all of them, whole words, best 20."""
    if sqlite:
        match = " AND ".join(f'"{s}"' for s in stems_)
        return ("SELECT rowid, bm25(search_fts) FROM search_fts WHERE search_fts MATCH :m "
                "ORDER BY rank LIMIT 20", {"m": match})
    query = " & ".join(f"'{s}'" for s in stems_)
    return ("SELECT id, ts_rank(tsv, q) AS r FROM search_docs, to_tsquery('simple', :m) q "
            "WHERE tsv @@ q ORDER BY r DESC LIMIT 20", {"m": query})


def _engine_sql(sqlite: bool, stems_: list[str]) -> tuple[str, dict[str, str]]:
    """The engine query our search sends for the words (compound parts and column weights
    included), best 20: what the search costs beyond it is ours."""
    match = TextMatch(tuple((s,) for s in stems_), "all")
    if sqlite:
        return ("SELECT rowid, -bm25(search_fts, 10.0, 4.0, 1.5, 0.3) AS r FROM search_fts "
                "WHERE search_fts MATCH :m ORDER BY r DESC LIMIT 20", {"m": fts5_match(match)})
    return ("SELECT id, ts_rank('{0.03, 0.15, 0.4, 1.0}', tsv, q, 1) AS r FROM search_docs, "
            "to_tsquery('simple', :m) q WHERE tsv @@ q ORDER BY r DESC LIMIT 20",
            {"m": tsquery(match)})


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return cut[49], cut[94], cut[98]


# ``--clock cpu``: this process's CPU time (its threads included, so SQLite's work in
# aiosqlite's thread counts) instead of wall time. On a shared, loaded machine it is far less
# noisy; it cannot see PostgreSQL's server processes, so it is for SQLite only.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = _clock()
    await call()
    return (_clock() - start) * 1000


async def _measure(ctx: NodeContext, corpus: Corpus, queries: int, label: str) -> None:
    rng = random.Random(11)
    sqlite = ctx.db.is_sqlite
    # Queries draw words as often as text uses them, leaving out the 50 most frequent ones,
    # which behave like stopwords.
    usable = [w for w in corpus.words[50:] if len(corpus.stem_of[w]) > 2]
    usable_weights = [corpus.weights[corpus.words.index(w)] for w in usable]
    for case in CASES:
        ours: list[float] = []
        bare: list[float] = []
        engine: list[float] = []
        totals: list[int] = []
        for _ in range(queries):
            words = list(dict.fromkeys(rng.choices(usable, usable_weights, k=case.words)))
            request = SearchRequest(
                q=" ".join(words), limit=20,
                kind=rng.choice(KINDS) if case.facet and case.words == 1 else None,
                province=rng.choice(PROVINCES) if case.facet and case.words == 2 else None)
            sql, params = _bare_sql(sqlite, [corpus.stem_of[w] for w in words])
            engine_sql, engine_params = _engine_sql(sqlite, [corpus.stem_of[w] for w in words])
            found: list[int] = []

            async def ours_call(request: SearchRequest = request, found: list[int] = found
                                ) -> None:
                found.append((await search(ctx, request)).total)

            async def bare_call(sql: str = sql, params: dict[str, str] = params) -> None:
                async with ctx.db.sessions() as session:
                    (await session.execute(text(sql), params)).all()

            async def engine_call(sql: str = engine_sql,
                                  params: dict[str, str] = engine_params) -> None:
                await bare_call(sql, params)

            # Rotate which goes first so caches favour none.
            calls: list[tuple[list[float], Callable[[], Awaitable[None]]]] = [
                (ours, ours_call), (bare, bare_call), (engine, engine_call)]
            turn = len(ours) % 3
            for times, call in calls[turn:] + calls[:turn]:
                times.append(await _timed(call))
            totals.extend(found)
        o50, o95, o99 = _percentiles(ours)
        b50, b95, b99 = _percentiles(bare)
        e95 = _percentiles(engine)[1]
        print(f"{label:<16} {case.name:<18} ours p50 {o50:6.1f} p95 {o95:6.1f} p99 {o99:6.1f} ms"
              f" | bare p50 {b50:5.1f} p95 {b95:5.1f} p99 {b99:5.1f} ms | p95 ratio {o95 / b95:4.1f}"
              f" | engine p95 {e95:5.1f} ms, ratio {o95 / e95:4.1f}"
              f" | median hits {statistics.median(totals):.0f}", flush=True)


def _settings(directory: Path, url: str) -> Any:
    return build_settings(directory, {
        ("node", "url"): "https://bench.test", ("node", "name"): "Bench",
        ("node", "handle"): "bench", ("database", "url"): url}, environ={})


async def _run_on(url: str, directory: Path, corpus: Corpus, queries: int, label: str) -> None:
    db = Database.connect(url)
    try:
        await _measure(NodeContext(settings=_settings(directory, url), db=db), corpus, queries,
                       label)
    finally:
        await db.dispose()


def _bench_sqlite(n: int, corpus: Corpus, queries: int, keep: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="kk-bench-search-") as tmp:
        # ``--keep DIR``: the index is built once into DIR and reused by later runs (the same
        # generated items, so before/after comparisons need not rebuild 100,000 items).
        path = (keep or Path(tmp)) / f"search-{n}.db"
        if keep is None or not path.exists():
            building = path.with_suffix(".building")
            building.unlink(missing_ok=True)
            upgrade(f"sqlite:///{building}")
            start = time.perf_counter()
            _load_sqlite(building, n, corpus)
            building.rename(path)
            print(f"sqlite {n:,} items: indexed in {time.perf_counter() - start:.1f} s, "
                  f"file {path.stat().st_size / 1e6:.0f} MB", flush=True)
        else:
            upgrade(f"sqlite:///{path}")  # an index kept from older code: migrations fill it in
        asyncio.run(_run_on(f"sqlite+aiosqlite:///{path}", Path(tmp), corpus, queries,
                            f"sqlite {n:,}"))


def _bench_postgres(n: int, corpus: Corpus, queries: int) -> None:
    name = f"kk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url)
        start = time.perf_counter()
        _load_postgres(name, n, corpus)
        print(f"postgres {n:,} items: indexed in {time.perf_counter() - start:.1f} s",
              flush=True)
        with tempfile.TemporaryDirectory(prefix="kk-bench-search-") as tmp:
            asyncio.run(_run_on(url, Path(tmp), corpus, queries, f"postgres {n:,}"))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000",
                        help="comma-separated numbers of items (default 10000,100000)")
    parser.add_argument("--engines", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--queries", type=int, default=200, help="queries per case (default 200)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time (default), or this process's CPU time (SQLite only)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the SQLite index into this directory once and reuse it")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 items, SQLite only, 50 queries per case")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    queries = args.queries
    if args.quick:
        sizes, engines, queries = [2_000], ["sqlite"], 50
    corpus = _corpus()
    print(f"vocabulary {len(corpus.words):,} words (compounds included); {queries} queries per "
          f"case; sqlite {sqlite3.sqlite_version}; {args.clock} clock", flush=True)
    for n in sizes:
        for engine in engines:
            if engine == "sqlite":
                _bench_sqlite(n, corpus, queries, args.keep)
            elif engine == "postgres":
                _bench_postgres(n, corpus, queries)
            else:
                parser.error(f"unknown engine {engine!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
