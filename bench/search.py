"""The ceiling's search: the highest rate a server sustains, to within a few per cent."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def highest_sustained(
    rates: Sequence[float], refine: int, sustains: Callable[[float], tuple[bool, float]]
) -> float:
    """Try `rates` in order until one is not sustained, then bisect (geometrically, `refine`
    times) between the last rate sustained and the first that was not. `sustains(rate)` runs
    the load and says whether it held, and how much it delivered; returns the most delivered
    by a rate that held (0 when none did).

    The steps are about 2x apart, as wide as the gap between close servers: three bisections
    tell rates about 9% apart."""
    best, held, failed = 0.0, None, None
    for rate in rates:
        ok, delivered = sustains(rate)
        if not ok:
            failed = rate
            break
        held, best = rate, max(best, delivered)
    if held is None or failed is None:
        return best
    low, high = held, failed
    for _ in range(refine):
        rate = round(math.sqrt(low * high), 2)
        ok, delivered = sustains(rate)
        if ok:
            low, best = rate, max(best, delivered)
        else:
            high = rate
    return best
