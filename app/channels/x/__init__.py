"""X channel: mentions and brand keywords in, public replies out (tweepy, API v2).

adapter.py (no database): pages → InboundMessages, replies → POST /2/tweets; client.py: the tweepy
client pointed at X_API_BASE_URL; text.py: weighted length and the public-reply guard;
poller.py / listening.py / budget.py: the services that poll, store and count API usage.
"""
from app.channels.registry import register
from app.channels.x.adapter import XChannel

register(XChannel)

__all__ = ["XChannel"]
