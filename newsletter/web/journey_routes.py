"""The subscriber journey's routes in one router, included by ``create_app``."""

from __future__ import annotations

from fastapi import APIRouter

from newsletter.web import preferences, public, subscriptions_api

router = APIRouter()
router.include_router(public.router)
router.include_router(preferences.router)
router.include_router(subscriptions_api.router)
