"""Several ``fit(..., attach_handlers=...)`` callbacks as one (sweep pruning, training curves, ...)."""
from __future__ import annotations

from collections.abc import Callable

from ignite.engine import Engine

AttachHandlers = Callable[[Engine, "Engine | None"], None]


def all_handlers(*attachers: AttachHandlers | None) -> AttachHandlers | None:
    """One callback attaching every given one in order; None when none is given."""
    chosen = [attach for attach in attachers if attach is not None]
    if not chosen:
        return None

    def attach(trainer: Engine, evaluator: Engine | None) -> None:
        for one in chosen:
            one(trainer, evaluator)

    return attach
