"""The one ingest path: InboundMessage in, stored Message out (see service.py)."""
from app.ingest.identity import InvalidIdentity, Sender, normalise, resolve_customer
from app.ingest.service import IngestError, ingest, ingest_batch, store_raw
from app.ingest.types import InboundAttachment, InboundMessage, IngestResult

__all__ = ["InvalidIdentity", "Sender", "normalise", "resolve_customer", "IngestError", "ingest", "ingest_batch",
           "store_raw", "InboundAttachment", "InboundMessage", "IngestResult"]
