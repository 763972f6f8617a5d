"""The web layer: thin FastAPI shells around the ``newsletter`` domain functions."""
