"""LINE channel (Messaging API, line-bot-sdk v3): webhook events in, replies and pushes out.

events.py: webhook event dicts → InboundMessages (no database); adapter.py: reply / push with a
retry key, profile, content and quota through the SDK pointed at LINE_API_BASE_URL /
LINE_DATA_API_BASE_URL; services.py: the use cases; routes.py: its blueprint, POST /hooks/line
and the supervisors' status page (webhook URL, quota).
"""
from app.channels.registry import register
from app.channels.line.adapter import LineChannel

register(LineChannel)

__all__ = ["LineChannel"]
