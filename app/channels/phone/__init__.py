"""Phone channel: call notes logged by agents or by a phone system; nothing is sent."""
from app.channels.base import ChannelAdapter
from app.channels.registry import register


@register
class PhoneChannel(ChannelAdapter):
    name = "phone"
    identity_kind = "phone"
    can_reply = False
