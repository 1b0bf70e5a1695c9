"""English for messages people read, for the entrypoints (the domain's own: `domain.wording`)."""

from domain.wording import a, count

__all__ = ["a", "count"]
