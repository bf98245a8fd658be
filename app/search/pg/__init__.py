"""The PostgreSQL search backend (SEARCH_BACKEND=postgres).

- schema.py: the two tables (tsvector + GIN), outside the SQLAlchemy metadata: they exist only
  on PostgreSQL, created by migration 0008_pg_search_tables (a no-op on SQLite).
- vectors.py: Whoosh's documents (documents.py) run through the same tokenizer (analysis.py)
  become tsvector literals; fields are tsvector weights, positions are kept for phrases.
- writer.py: rows written in the transaction that changes a message or customer; rebuild.
- search.py: the Whoosh query (query.py) translated to a tsquery, filters and visibility in SQL.
"""
