"""``/api/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from assets the package ships.

Both viewers are vendored under ``static/vendor/`` at fixed versions (static/vendor/README.md
says where from), so the staff docs load nothing from a CDN: the app's Content-Security-Policy
(``default-src 'self'``) holds, and no third party learns who reads them. Each page is an HTML
shell plus one start-up script of ours (no inline script). ReDoc writes its styles into
``<style>`` elements; that page alone allows styles carrying the response's nonce, which ReDoc
puts on every element it creates.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

SWAGGER_UI = "vendor/swagger-ui-5.35.0"
REDOC = "vendor/redoc-2.5.4"
BASE_POLICY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
# The scrollbar stylesheet ReDoc's bundle inserts while it loads, before the nonce can reach it,
# allowed by its digest (and the empty element it fills). A new bundle with another stylesheet
# fails tests/test_api_docs.py with the violation; the digest is then the sha256 of the new
# ``<style>`` text, base64-encoded.
REDOC_STYLE_HASHES = (
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style> first inserted
)

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, **context: object) -> HTMLResponse:
    values = {"title": request.app.title, "openapi_url": request.app.openapi_url, **context}
    response = request.app.state.templates.TemplateResponse(request, f"web/api_docs/{name}", values)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/api/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(request, "swagger.html", assets=SWAGGER_UI)


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    response = _page(request, "redoc.html", assets=REDOC, nonce=nonce)
    styles = " ".join(("'self'", f"'nonce-{nonce}'", *REDOC_STYLE_HASHES))
    # Search runs in a worker ReDoc starts from a blob: of its own code.
    policy = f"{BASE_POLICY}; style-src {styles}; worker-src 'self' blob:"
    response.headers["Content-Security-Policy"] = policy
    return response
