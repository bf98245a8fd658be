"""CSV import of cart exports: `flask --app wsgi import orders|subscriptions|customers FILE.csv`.

- Streams the file (never loads it): memory stays flat however many rows there are.
- UTF-8 (with or without BOM) and Shift_JIS/CP932 are detected from the first 64 KiB.
- Header names are mapped to fields by a JSON file in csv_mappings/ (Japanese cart headers such
  as 受注番号, 注文日時, 顧客番号, メールアドレス, 電話番号, 商品コード, 数量, 単価, 合計金額, and
  English ones); `--mapping FILE` takes a shop's own.
- Order exports have one row per order line; the rows of one order are consecutive.
- A bad row is written to the report file (row number as a spreadsheet shows it, the header
  being row 1, and the reason) and the good rows go on. Upserts are idempotent, so re-running the
  same file changes nothing.
- Commits once per chunk; when a chunk hits a database error it is replayed record by record so
  only the bad record is lost.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import time
import unicodedata
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import click
from flask import current_app
from flask.cli import with_appcontext

from app.commerce.csv_values import RowError, build_record
from app.commerce.upserts import UpsertError, Upserter
from app.extensions import db

log = logging.getLogger(__name__)
MAPPINGS_DIR = Path(__file__).parent / "csv_mappings"
KINDS = ("orders", "subscriptions", "customers")
UPSERT_KIND = {"orders": "order", "subscriptions": "subscription", "customers": "customer"}
SAMPLE_BYTES = 64 * 1024


class ImportFailed(click.ClickException):
    """The file cannot be imported at all (no header, a required column missing...)."""


@dataclass
class ImportStats:
    kind: str
    encoding: str = ""
    rows: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    report_path: str = ""
    ignored_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.kind}: {self.records} records from {self.rows} rows ({self.encoding}) — "
                f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.failed} failed; {self.seconds:.1f} s. Report: {self.report_path}")


class _Counting(io.RawIOBase):
    """A binary reader that reports how many bytes were consumed (for the progress bar)."""

    def __init__(self, raw, on_read: Optional[Callable[[int], None]]):
        self.raw, self.on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n and self.on_read:
            self.on_read(n)
        return n or 0


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig, utf-8 or cp932 (Shift_JIS with the Windows extensions carts use)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("cp932")().decode(sample, final=False)
        return "cp932"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best else "utf-8"


def _norm_header(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).strip('"').lower()


def load_mapping(kind: str, path: Optional[str] = None) -> dict[str, Any]:
    file = Path(path) if path else MAPPINGS_DIR / f"{kind}.json"
    try:
        mapping = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFailed(f"cannot read the mapping file {file}: {exc}") from exc
    if not isinstance(mapping.get("fields"), dict):
        raise ImportFailed(f"{file}: a mapping needs a 'fields' object (field -> header names)")
    return mapping


def column_map(header: list[str], mapping: dict[str, Any]) -> tuple[dict[int, str], list[str]]:
    """({column index: field}, ignored header names); raises ImportFailed for missing columns."""
    aliases = {_norm_header(alias): name for name, names in mapping["fields"].items() for alias in names}
    columns, ignored, seen = {}, [], set()
    for i, raw in enumerate(header):
        name = aliases.get(_norm_header(raw))
        if name and name not in seen:
            columns[i] = name
            seen.add(name)
        elif raw.strip():
            ignored.append(raw)
    missing = [f for f in mapping.get("required", []) if f not in seen]
    if missing:
        wanted = "; ".join(f"{f} ({' / '.join(mapping['fields'][f][:3])})" for f in missing)
        raise ImportFailed(f"the header lacks required columns: {wanted}")
    return columns, ignored


def _rows(reader, columns: dict[int, str]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        yield number, {name: row[i].strip() if i < len(row) else "" for i, name in columns.items()}


def _records(kind: str, rows, mapping, tz: str, stats: ImportStats, bad: Callable):
    """(first row number, row numbers, external id, data) per record; bad rows go to `bad`."""
    if kind != "orders":
        for number, values in rows:
            stats.rows += 1
            try:
                external_id, data = build_record(kind, [values], mapping, tz)
            except RowError as exc:
                bad(number, values.get("external_id", ""), str(exc))
                continue
            yield number, [number], external_id, data
        return
    seen: set[str] = set()
    for external_id, group in groupby(rows, key=lambda r: r[1].get("external_id", "")):
        group = list(group)
        numbers = [n for n, _v in group]
        stats.rows += len(group)
        if external_id in seen:
            bad(numbers[0], external_id, f"order {external_id} appeared earlier in the file; the rows of one "
                                         f"order must be consecutive")
            continue
        seen.add(external_id)
        try:
            external_id, data = build_record(kind, [v for _n, v in group], mapping, tz)
        except RowError as exc:
            bad(numbers[0], external_id, str(exc))
            continue
        yield numbers[0], numbers, external_id, data


def import_csv(kind: str, path: str, *, mapping_path: Optional[str] = None, report_path: Optional[str] = None,
               on_bytes: Optional[Callable[[int], None]] = None, chunk_size: int = 1000) -> ImportStats:
    """Import FILE of `kind`; returns the counts. Bad rows go to the report, never stop the run."""
    if kind not in KINDS:
        raise ImportFailed(f"unknown import kind {kind!r}; choose {', '.join(KINDS)}")
    mapping = load_mapping(kind, mapping_path)
    stats = ImportStats(kind=kind, report_path=report_path or f"{path}.errors.csv")
    started = time.perf_counter()
    tz = current_app.config["TIMEZONE"]
    with open(path, "rb") as raw, open(stats.report_path, "w", encoding="utf-8", newline="") as report_file:
        stats.encoding = detect_encoding(raw.read(SAMPLE_BYTES))
        raw.seek(0)
        report = csv.writer(report_file)
        report.writerow(["row", "external_id", "error"])

        def bad(number: int, external_id: str, reason: str) -> None:
            stats.failed += 1
            report.writerow([number, external_id, reason])

        buffered = io.BufferedReader(_Counting(raw, on_bytes), buffer_size=256 * 1024)
        text = io.TextIOWrapper(buffered, encoding=stats.encoding, errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFailed("the file is empty") from None
        columns, stats.ignored_columns = column_map(header, mapping)
        upserter = Upserter()
        upserter.prefetch_products()
        chunk: list = []
        for record in _records(kind, _rows(reader, columns), mapping, tz, stats, bad):
            chunk.append(record)
            if len(chunk) >= chunk_size:
                _store_chunk(kind, chunk, upserter, stats, bad)
                chunk = []
        if chunk:
            _store_chunk(kind, chunk, upserter, stats, bad)
    stats.seconds = time.perf_counter() - started
    return stats


def _prefetch(kind: str, chunk: list, upserter: Upserter) -> None:
    from app.ingest.identity import InvalidIdentity

    ext_key = "external_id" if kind == "customers" else "customer_external_id"
    pairs = []
    for _first, _numbers, _eid, data in chunk:
        for k in ("email", "phone"):
            if data.get(k):
                try:
                    pairs.append((k, upserter.norm(k, data[k])))
                except InvalidIdentity:
                    pass
    ids = [eid if kind == "customers" else data.get(ext_key) for _f, _n, eid, data in chunk]
    upserter.prefetch_customers([i for i in ids if i], pairs)
    if kind == "orders":
        upserter.prefetch_orders([eid for _f, _n, eid, _d in chunk])


def _store_one(kind: str, record, upserter: Upserter, stats: ImportStats, bad) -> None:
    first, _numbers, external_id, data = record
    try:
        result = upserter_call(kind, upserter, external_id, data)
    except UpsertError as exc:
        bad(first, external_id, str(exc))
        return
    stats.records += 1
    setattr(stats, result.status, getattr(stats, result.status) + 1)


def upserter_call(kind: str, upserter: Upserter, external_id: str, data: dict):
    method = {"orders": upserter.upsert_order, "subscriptions": upserter.upsert_subscription,
              "customers": upserter.upsert_customer}[kind]
    return method(external_id, data)


def _store_chunk(kind: str, chunk: list, upserter: Upserter, stats: ImportStats, bad) -> None:
    snapshot = (stats.records, stats.created, stats.updated, stats.unchanged, stats.failed)
    pending_bad: list = []
    try:
        with db.session.no_autoflush:
            _prefetch(kind, chunk, upserter)
            for record in chunk:
                _store_one(kind, record, upserter, stats, lambda *a: pending_bad.append(a))
        db.session.commit()
    except Exception as exc:  # a database error: replay one record per transaction to isolate it
        log.warning("a chunk of %d records failed (%s); storing them one by one", len(chunk), str(exc)[:200])
        db.session.rollback()
        upserter.forget()
        upserter.prefetch_products()
        stats.records, stats.created, stats.updated, stats.unchanged, stats.failed = snapshot
        for record in chunk:
            try:
                _store_one(kind, record, upserter, stats, bad)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported per row, the import goes on
                db.session.rollback()
                upserter.forget()
                upserter.prefetch_products()
                bad(record[0], record[2], f"could not be stored: {type(exc).__name__}: {str(exc)[:200]}")
        return
    for args in pending_bad:
        bad(*args)
    # Dropping the caches lets the (weakly referenced) committed objects go: memory stays flat.
    upserter.forget()
    upserter.prefetch_products()


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="A header mapping JSON file (default: csv_mappings/<kind>.json).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Where to write bad rows (default: FILE.errors.csv).")
@click.option("--chunk", "chunk_size", default=1000, show_default=True, help="Records per transaction.")
@with_appcontext
def import_command(kind: str, file: str, mapping_path: Optional[str], report_path: Optional[str],
                   chunk_size: int) -> None:
    """Import orders, subscriptions or customers from a cart's CSV export (UTF-8 or Shift_JIS)."""
    size = Path(file).stat().st_size
    with click.progressbar(length=size, label=f"Importing {kind}", show_percent=True, show_eta=True) as bar:
        stats = import_csv(kind, file, mapping_path=mapping_path, report_path=report_path,
                           on_bytes=bar.update, chunk_size=chunk_size)
    click.echo(stats.summary())
    if stats.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(stats.ignored_columns)}")
    if stats.failed:
        click.echo(f"{stats.failed} bad rows: see {stats.report_path}", err=True)
