"""The registry of channel adapters: the only place that maps a channel name to its code."""
from __future__ import annotations

from typing import Any

from app.channels.base import ChannelAdapter

_adapters: dict[str, type[ChannelAdapter]] = {}


def register(adapter: type[ChannelAdapter]) -> type[ChannelAdapter]:
    """Register an adapter class (usable as a decorator)."""
    _adapters[adapter.name] = adapter
    return adapter


def names() -> list[str]:
    return sorted(_adapters)


def is_known(name: str) -> bool:
    return name in _adapters


def adapter_class(name: str) -> type[ChannelAdapter]:
    return _adapters[name]


def get(name: str, config: dict[str, Any]) -> ChannelAdapter:
    """An adapter instance for `name` configured from the app config."""
    return _adapters[name](config)


def identity_kind(name: str) -> str:
    return _adapters[name].identity_kind
