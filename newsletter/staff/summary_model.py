"""The stored figures of the dashboard and the lists page (see staff/summaries.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.db import Base


class ReportSummary(Base):
    """One row per summary name, overwritten by each background refresh: nothing that grows."""

    __tablename__ = "report_summaries"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    computed_at: Mapped[dt.datetime]
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
