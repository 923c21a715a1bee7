"""The one error of the history layer."""


class HistoryError(Exception):
    """The history cannot be used (no key, no store, a store busy or of another key): the
    run stops with exit 2 before it writes anything, rather than check without it."""
