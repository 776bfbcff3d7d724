"""Which model kinds each serving feature supports, and the one-line error for the others."""
from __future__ import annotations

from collections.abc import Iterable

from ..errors import UserError


def check_supported(kind: object, supported: Iterable[str], feature: str, source: object) -> str:
    """``kind`` itself when ``feature`` supports it; a :class:`UserError` naming the supported kinds otherwise."""
    supported = list(supported)
    if kind not in supported:
        raise UserError(f"{source}: {feature} does not support {kind!r} models (supported: {', '.join(supported)})")
    return str(kind)
