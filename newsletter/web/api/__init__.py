"""The staff REST API, ``/api/v1``: token-authenticated JSON (no cookies, so no CSRF).

``POST /api/v1/subscriptions`` (the public sign-up endpoint) belongs to the subscriber
journey (``newsletter/web/subscriptions_api.py``), not here.
"""
