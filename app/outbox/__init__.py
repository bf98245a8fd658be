"""The outbox: outbound messages wait here until their channel accepts them."""
from app.outbox.service import claim_due, deliver_due, deliver_item, enqueue, recipient_refusal, retry

__all__ = ["claim_due", "deliver_due", "deliver_item", "enqueue", "recipient_refusal", "retry"]
