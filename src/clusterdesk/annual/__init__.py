"""Annual reports after approval: prefill from the application, targets, next year. No Qt."""

from .engine import AnnualError, Achieved, Carried, Series, achievement, carried, create_annual, progress, roll_over

__all__ = ["AnnualError", "Achieved", "Carried", "Series", "achievement", "carried", "create_annual", "progress",
           "roll_over"]
