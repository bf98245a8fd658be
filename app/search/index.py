"""The Whoosh index: schema, document ids, state file, opening (with corruption detection).

One index in SEARCH_INDEX_DIR holds two kinds of documents (built in documents.py), told apart by `kind`:
customers ("c:<id>") and messages ("m:<id>", carrying their ticket's status, team and assignee
so authorisation can be filtered inside the query). Ids are zero-padded so the `doc_id`
lexicon is in numeric order (reconciliation walks it alongside the database).

The index is derived data: nothing here is the only copy of anything, so an index that cannot
be opened is moved aside and rebuilt from the database (indexer.py decides when).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Any, Optional

from flask import current_app
from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.columns import NumericColumn
from whoosh.filedb.filetables import FileFormatError
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.util.filelock import FileLock
from whoosh.writing import PostingPool

from app.search.analysis import name_analyzer, text_analyzer
from app.search import skips  # noqa: F401  (patches W3LeafMatcher.skip_to)

#: Bump when the schema changes: an index of another version is rebuilt.
SCHEMA_VERSION = 1
STATE_FILE = "tsunagu-search.json"


class IndexUnavailable(RuntimeError):
    """The index is missing or unreadable; the worker rebuilds it."""


def make_schema() -> Schema:
    text, names = text_analyzer(), name_analyzer()
    return Schema(
        doc_id=ID(unique=True, stored=True),
        kind=ID(stored=True),
        obj_id=STORED,
        # Messages (with their ticket's fields)
        subject=TEXT(analyzer=text, phrase=True, field_boost=1.5),
        body=TEXT(analyzer=text, phrase=True),
        sender=TEXT(analyzer=names, phrase=True),
        ticket_id=STORED,
        channel=ID, status=ID, direction=ID,
        #: Assignee and team ids as text; "none" when unset (authorisation filters on them).
        assignee=ID, team=ID,
        #: Epoch seconds, a sort column only (not indexed: no trie terms to write).
        created=COLUMN(NumericColumn("q")),
        #: Day number (date.toordinal()) in the shop's time zone, for date-range filters.
        day=NUMERIC(int, bits=32, signed=False, shift_step=8),
        # Customers
        names=TEXT(analyzer=names, phrase=True, field_boost=2.0),
        idtext=TEXT(analyzer=names, phrase=True),
        email=KEYWORD(lowercase=True),
        phone=KEYWORD,
        xhandle=KEYWORD(lowercase=True),
        orders=KEYWORD(lowercase=True),
    )


class _LengthBytes:
    """A field-length column (one byte per document) read into memory in one go.

    Upstream reads it a byte at a time (a seek and a read per posting), which at commit cost a
    quarter of a rebuild's time; the whole column is one byte per document (1 MB a million).
    """

    def __init__(self, reader):
        self._data = reader._dbfile.get(reader._basepos, reader._count)
        self._default = reader._default

    def __getitem__(self, docnum: int) -> int:
        try:
            return self._data[docnum]
        except IndexError:
            return self._default


def _cached_reader(self, fieldname, column):
    """W3PerDocReader._cached_reader that also caches "no such column", and length columns whole.

    Upstream caches only readers that exist, so every posting of a field without a length column
    (ID, KEYWORD, NUMERIC) costs a stat() of the disk at commit: 60% of indexing time here.
    Segment files never change once written, so a negative answer stays true.
    """
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        if column is whoosh3.LENGTHS_COLUMN and type(reader) is NumericColumn.Reader:
            reader = _LengthBytes(reader)
        self._readers[fieldname] = reader
        return reader


whoosh3.W3PerDocReader._cached_reader = _cached_reader


class ChunkedPostingPool(PostingPool):
    """A posting pool whose sorted runs are pickled in chunks, not one posting at a time.

    A rebuild of a large index spills its postings to runs on disk and merges them at commit;
    upstream pickles and unpickles every posting on its own (a third of a rebuild's time).
    """

    CHUNK = 10_000

    def add(self, item):
        """PostingPool.add without its per-posting type assertions (the same size estimate)."""
        self.fieldnames.add(item[0])
        self.currentsize += 150 + len(item[0]) + 2 * len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)

    def _write_run(self, f, items):
        for start in range(0, len(items), self.CHUNK):
            pickle.dump(items[start:start + self.CHUNK], f, pickle.HIGHEST_PROTOCOL)
        f.close()

    def _read_run(self, path):
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


def bulk_writer(ix, limitmb: int, timeout: float):
    """A writer for many documents at once (a rebuild): the chunked posting pool."""
    writer = ix.writer(timeout=timeout, limitmb=limitmb, compound=False)
    writer.pool = ChunkedPostingPool(writer._tempstorage, writer.newsegment, limitmb=limitmb)
    return writer


def index_dir() -> str:
    return current_app.config["SEARCH_INDEX_DIR"]


def message_doc_id(message_id: int) -> str:
    return f"m:{message_id:012d}"


def customer_doc_id(customer_id: int) -> str:
    return f"c:{customer_id:012d}"


# --- state file (written by the single writer; read by anyone for the lag indicator) ---------

def read_state(path: Optional[str] = None) -> dict[str, Any]:
    try:
        with open(os.path.join(path or index_dir(), STATE_FILE), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def write_state(state: dict[str, Any], path: Optional[str] = None) -> None:
    """Atomically replace the state file (a crash leaves the old one or the new one)."""
    target = os.path.join(path or index_dir(), STATE_FILE)
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(tmp, target)


# --- opening ---------------------------------------------------------------------------------

def _check(ix) -> None:
    """Touch the table of contents, every segment and a posting list: raises if damaged."""
    with ix.searcher() as searcher:
        searcher.doc_count_all()
        reader = searcher.reader()
        for _term in zip(range(1), reader.lexicon("kind")):
            pass
        searcher.document(kind="customer")


def index_exists(path: Optional[str] = None) -> bool:
    """Whether an index of the current schema is there (a damaged one counts as absent)."""
    path = path or index_dir()
    try:
        return whoosh_index.exists_in(path) and read_state(path).get("schema") == SCHEMA_VERSION
    except Exception:  # exists_in reads the TOC, which may be the damaged part
        return False


def open_index():
    """Open the index for reading; IndexUnavailable when missing, outdated or damaged."""
    path = index_dir()
    if not index_exists(path):
        raise IndexUnavailable(f"no search index in {path}")
    try:
        return whoosh_index.open_dir(path)
    except Exception as exc:  # any damage: unreadable TOC, missing segment...
        raise IndexUnavailable(f"the search index cannot be opened: {exc}") from exc


#: What a damaged segment raises while being read.
DAMAGE_ERRORS = (OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError,
                 whoosh_index.IndexError, FileFormatError)


_local = threading.local()


@contextmanager
def searcher():
    """A searcher of the current index; damage found while searching becomes IndexUnavailable.

    Each thread keeps its searcher until the index has a new generation (a commit) or is recreated:
    opening a segment copies its files into memory (whoosh BufferFile), which for a large index
    costs more than the search. Web processes never repair the index (they do not write it):
    they report it unavailable, and the worker's next turn rebuilds it.
    """
    ix = open_index()
    key = (ix.storage.folder, read_state().get("created_at"), ix.latest_generation())
    cached = getattr(_local, "searcher", None)
    try:
        if cached is not None and cached[0] == key:
            opened = cached[1]
        else:
            if cached is not None:
                cached[1].close()
            opened = ix.searcher()
        _local.searcher = (key, opened)
        yield opened
    except DAMAGE_ERRORS as exc:
        _local.searcher = None
        current_app.logger.exception("the search index is damaged")
        raise IndexUnavailable(f"the search index is damaged: {exc}") from exc


def create_index(path: Optional[str] = None):
    """A new empty index (a damaged or outdated one is moved aside first, then removed)."""
    path = path or index_dir()
    if os.path.isdir(path) and os.listdir(path):
        aside = f"{path}.broken-{int(time.time())}"
        os.replace(path, aside)
        shutil.rmtree(aside, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    ix = whoosh_index.create_in(path, make_schema())
    write_state({"schema": SCHEMA_VERSION, "backfill": {"customer": 0, "message": 0},
                 "created_at": time.time()}, path)
    return ix


def _usable_index():
    ix = open_index()
    _check(ix)
    return ix


def open_or_create():
    """(index, created): the writer's way in; a missing or damaged index is recreated empty.

    Creating takes a file lock beside the index and looks again once it holds it: workers that
    start together would otherwise each create the index over the other's (or move a half-made
    one aside as damaged)."""
    try:
        return _usable_index(), False
    except Exception:
        pass
    path = index_dir()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    lock = FileLock(os.path.abspath(path) + ".create.lock")
    lock.acquire(blocking=True)
    try:
        try:
            return _usable_index(), False  # another worker made it while this one waited
        except Exception as exc:
            if not (os.path.isdir(path) and os.listdir(path)):  # a fresh install: nothing to worry about
                current_app.logger.info("creating the search index in %s", path)
            else:
                current_app.logger.warning("search index unusable (%s); recreating it", exc)
            return create_index(path), True
    finally:
        lock.release()
