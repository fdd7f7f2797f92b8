"""On PostgreSQL a search with words scans ``search_docs`` once, match and filters together, so
the planner can start from the narrower of the two (docs/performance.md, "Search on PostgreSQL:
one scan"); SQLite keeps its materialised FTS5 match joined to the filtered rows."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from node.store.search import SearchFilter, _matched


def _compiled(is_sqlite: bool) -> str:
    statement = _matched(is_sqlite, True, False, SearchFilter(province="PV21"))
    return str(statement.compile(dialect=sqlite.dialect() if is_sqlite else
                                 postgresql.dialect()))


def test_postgres_matches_and_filters_in_one_scan_of_search_docs() -> None:
    sql = _compiled(False)
    assert sql.count("FROM search_docs") == 1 and "JOIN" not in sql and " AS search_docs_" \
        not in sql  # one scan, no second copy of the table
    assert "WHERE (search_docs.tsv @@ to_tsquery(" in sql and "search_docs.province = " in sql


def test_sqlite_joins_its_materialised_match_to_the_filtered_rows() -> None:
    sql = _compiled(True)
    assert "search_fts MATCH" in sql and "FROM hits JOIN search_docs ON search_docs.id = hits.id" in sql
