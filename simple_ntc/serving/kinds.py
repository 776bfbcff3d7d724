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


def check_servable(data: dict, supported: Iterable[str], feature: str, source: object, *,
                   members: bool = False, regression: bool = True) -> str:
    """The file's kind when ``feature`` can serve everything the model file holds; a one-line error otherwise.

    ``members``: whether the feature keeps the ``--linear`` members of a file; ``regression``: whether it
    serves regression models. The ``--transformer`` model is not served by any of them yet.
    """
    kind = check_supported(data.get("kind"), supported, feature, source)
    use = "use --backend torch without --quantize"
    if data.get("members") and not members:
        raise UserError(f"{source}: {feature} does not serve the --linear (TF-IDF) member of this model file; {use}")
    if "transformer" in data.get("models", {}):
        raise UserError(f"{source}: {feature} does not support the --transformer model yet; {use}")
    if data.get("regression") and not regression:
        raise UserError(f"{source}: {feature} does not support --regression models yet; {use}")
    return kind
