"""A campaign's recent error rate, which decides when it pauses itself (lifecycle).

Why not the whole campaign's rate: a relay that starts refusing after 90,000 good messages of a
100,000-recipient campaign would need another 30,000 refusals before the overall rate passed 25%.
What matters is what is happening now, so the rate is taken over a window of about the last
``SEND_AUTO_PAUSE_WINDOW`` attempts.

How: an exponentially weighted window. Each later attempt multiplies an attempt's weight by
``d = 1 - 1/N`` (N = the window size), so the last N attempts carry about two thirds of the
weight and nothing has to remember individual outcomes. Two numbers in the campaign row hold
it: ``window_attempts`` (the sum of the weights) and ``window_errors`` (the sum of the weights of
attempts that were deferred, failed or bounced). They move in the same UPDATE that moves the
campaign's counters (`recording.record_chunk`), so every worker on every machine shares one
window at no extra query; concurrent chunks commute up to their order within the window.

The weight after k attempts is ``(1 - d**k) / (1 - d)``: exact whatever the chunk sizes, so the
number of attempts since the window was (re)started can be read back from it, and the
``SEND_AUTO_PAUSE_MIN_ATTEMPTS`` rule needs no third column. Resuming a campaign empties the
window (`campaigns.service.resume_campaign`): staff resume after fixing the cause, and the
errors that caused the pause must not pause it again at the first chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsletter.campaigns.models import Campaign


def _decay(size: int) -> float:
    return 1.0 - 1.0 / size


@dataclass(frozen=True)
class ChunkTerms:
    """One chunk's effect: the window so far is multiplied by ``aged``, then these are added."""

    aged: float
    weight: float
    errors: float


def chunk_terms(size: int, errors: Sequence[bool]) -> ChunkTerms | None:
    """The terms of a chunk whose attempts are ``errors`` in the order made (True: an error).

    None when the chunk made no attempt (every recipient skipped): skips are not attempts.
    """
    count = len(errors)
    if not count:
        return None
    decay = _decay(size)
    aged = decay**count
    added_errors = sum(decay ** (count - 1 - index) for index, error in enumerate(errors) if error)
    return ChunkTerms(aged, (1.0 - aged) / (1.0 - decay), added_errors)


@dataclass(frozen=True)
class ErrorWindow:
    """The campaign's window as read back after a chunk was recorded."""

    attempts_weight: float = 0.0
    errors_weight: float = 0.0

    @property
    def error_rate(self) -> float:
        """Weighted share of recent attempts that did not end in "sent"."""
        if self.attempts_weight <= 0:
            return 0.0
        return min(self.errors_weight / self.attempts_weight, 1.0)

    def attempts(self, size: int) -> float:
        """Attempts since the window was (re)started, read back from the weight."""
        remaining = 1.0 - self.attempts_weight * (1.0 - _decay(size))
        if remaining <= 0.0:  # the weight has reached its ceiling: "very many"
            return math.inf
        return round(math.log(remaining) / math.log(_decay(size)), 6)

    def after(self, terms: ChunkTerms) -> ErrorWindow:
        """The window after a chunk: what `chunk_update` does in SQL, in Python."""
        return ErrorWindow(
            self.attempts_weight * terms.aged + terms.weight,
            self.errors_weight * terms.aged + terms.errors,
        )


def chunk_update(size: int, errors: Sequence[bool]) -> dict[str, Any]:
    """The campaign's SET expressions for one chunk (empty when it made no attempt)."""
    terms = chunk_terms(size, errors)
    if terms is None:
        return {}
    return {
        "window_attempts": Campaign.window_attempts * terms.aged + terms.weight,
        "window_errors": Campaign.window_errors * terms.aged + terms.errors,
    }
