"""The end of a sent chunk: record it, learn of a pause or cancel, re-check who comes next.

Invariants `claim-and-record` and `suppressed-before-next-send`. One transaction per chunk
(`ChunkCloser.close`) re-checks that the next chunk's recipients are still subscribed and not
suppressed, refreshes the claims of a long batch, records the outcomes and reads the campaign's
status back (pause/cancel, and auto-pause when its recent error rate is too high).

Why retries live here: when this transaction fails, the chunk's messages have already left.
The pipeline's reaction to an exception is to hand its unsent rows back, and a chunk that was
never recorded is still claimed, so the tick would take it back and send it again. A PostgreSQL
restart (connections dropped, refused for a few seconds) must not cost a chunk of duplicates, so
a lost connection is retried with backoff for up to ``DB_RETRY_SECONDS``; the engine's pool
pre-ping reconnects. The retry window is capped at half the claim timeout, so the tick never takes
back claims this worker still holds. Only past the window does the exception reach the pipeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.campaigns.recipients import still_sendable
from newsletter.campaigns.service import pause_campaign
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery import claims
from newsletter.delivery.recording import Attempt, CampaignState, record_chunk

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0
FIRST_RETRY_SECONDS = 0.2
LONGEST_RETRY_SECONDS = 5.0
# How long a sent chunk's outcomes are retried against an unreachable database (capped at half
# the claim timeout): long enough for a PostgreSQL restart. An engine constant, not a setting:
# no installation has a reason to lose a chunk's record sooner.
DB_RETRY_SECONDS = 120.0


@dataclass(frozen=True)
class ChunkEnd:
    """Why to stop ("" to go on), and who in the next chunk may still be mailed."""

    stopped: str
    sendable: set[int]


def should_stop(
    settings: Settings, session: Session, campaign_id: int, state: CampaignState
) -> str:
    """ "" to go on; else why the batch stops (paused or cancelled by staff, or auto-paused)."""
    if state.status is not CampaignStatus.SENDING:
        return str(state.status)
    window, size = state.window, settings.send_auto_pause_window
    attempts = window.attempts(size)
    if (
        attempts >= settings.send_auto_pause_min_attempts
        and window.error_rate > settings.send_auto_pause_error_rate
    ):
        over = f"its last {size} attempts" if attempts > size else f"{attempts:.0f} attempts"
        reason = f"auto-paused: error rate {window.error_rate:.0%} over {over}"
        pause_campaign(session, campaign_id, reason)
        log.warning("campaign %s %s", campaign_id, reason)
        return "paused"
    return ""


class ChunkCloser:
    """Closes the chunks of one batch; keeps the batch's heartbeat clock."""

    def __init__(self, settings: Settings, campaign: Campaign, worker: str) -> None:
        self.settings, self.campaign, self.worker = settings, campaign, worker
        self.last_heartbeat = time.monotonic()

    def _heartbeat_due(self) -> bool:
        """Refresh claims well before the tick could take them for a dead worker's."""
        every = min(HEARTBEAT_SECONDS, self.settings.send_claim_timeout_seconds / 3)
        return time.monotonic() - self.last_heartbeat > every

    def _close_once(
        self,
        session: Session,
        attempts: list[Attempt],
        upcoming: Sequence[int],
        still_held: Callable[[], list[int]],
        recorded_before: bool,
    ) -> ChunkEnd:
        now = utcnow()
        sendable: set[int] = set()
        if upcoming:  # reads first: the counter UPDATE below locks the campaign row, which
            # every worker on this campaign updates, so that lock is held only until the commit
            sendable = still_sendable(session, self.campaign.id, upcoming)
            if self._heartbeat_due():
                claims.heartbeat(session, still_held(), self.worker, now)
                self.last_heartbeat = time.monotonic()
        stopped = ""
        if not recorded_before:
            state = record_chunk(session, self.settings, self.campaign, attempts, now)
            stopped = should_stop(self.settings, session, self.campaign.id, state)
        session.commit()
        return ChunkEnd(stopped, sendable)

    def close(
        self,
        session: Session,
        attempts: list[Attempt],
        upcoming: Sequence[int],
        still_held: Callable[[], list[int]],
    ) -> ChunkEnd:
        """Record ``attempts`` and commit, retrying while the database is unreachable.

        ``upcoming``: the next chunk's subscriber ids (empty after the last chunk);
        ``still_held``: the delivery ids this worker holds after this chunk (for the heartbeat).
        """
        window = min(DB_RETRY_SECONDS, self.settings.send_claim_timeout_seconds / 2)
        deadline = time.monotonic() + window
        delay, retried = FIRST_RETRY_SECONDS, False
        ids = [attempt.claimed.id for attempt in attempts]
        while True:
            try:
                # After a failure: did the lost COMMIT land? Recording again would count it twice.
                recorded_before = retried and not claims.held(session, ids, self.worker)
                return self._close_once(session, attempts, upcoming, still_held, recorded_before)
            except DBAPIError as exc:
                session.rollback()
                lost = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not lost or time.monotonic() + delay > deadline:
                    raise
                log.warning("campaign %s: database unreachable while recording %d outcome(s); "
                            "retrying in %.1f s", self.campaign.id, len(ids), delay)  # fmt: skip
                time.sleep(delay)
                delay, retried = min(delay * 2, LONGEST_RETRY_SECONDS), True
                self.last_heartbeat = 0.0  # the retry also refreshes the claims still held
