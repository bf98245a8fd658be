"""Channels with no transport of their own: messages arrive through the API or a form."""
from app.channels.base import ChannelAdapter
from app.channels.registry import register


@register
class ApiChannel(ChannelAdapter):
    """Messages posted to /api/v1/messages by another system (a web form, a shop)."""

    name = "api"
    identity_kind = "email"


@register
class WebChannel(ChannelAdapter):
    """The shop's contact form."""

    name = "web"
    identity_kind = "email"
