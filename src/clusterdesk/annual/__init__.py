"""Annual reports after approval: prefill from the application, targets, next year. No Qt."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import (AnnualError, Achieved, Carried, Series, achievement, carried, create_annual, progress,
                         roll_over)

__all__ = ["AnnualError", "Achieved", "Carried", "Series", "achievement", "carried", "create_annual", "progress",
           "roll_over"]


def __getattr__(name: str) -> Any:
    """The names above, from ``.engine`` when first asked for (the command line imports this
    package to register its sub-commands; ``clusterdesk --help`` must not wait for the engine)."""
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
