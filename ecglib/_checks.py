"""Argument checks that several pipeline stages share."""

from __future__ import annotations

import numpy as np


def check_positive_int(value, name: str, unit: str | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1 (a bool or a float such as 2.0 is not).

    Parameters
    ----------
    value
        The argument to check.
    name
        Its name, for the message.
    unit
        What it counts (e.g. ``"beats per chunk"``), added to the message in parentheses; default
        None, nothing.

    Raises
    ------
    ValueError
        ``"{name} must be a positive integer ({unit}), got {value!r}"``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer{f' ({unit})' if unit else ''}, got {value!r}")
