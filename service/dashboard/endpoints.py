"""``GET /admin``: the page and its two assets (the playground searches through
``POST /v1/admin/tenants/{name}/search``, in ``service/admin/search.py``)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Response

from storage.errors import NotFound

router = APIRouter()

STATIC = files("service.dashboard") / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
# Everything comes from this origin: no CDN, no inline script, no framing.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/admin", include_in_schema=False)
def dashboard_page() -> Response:
    """The page itself is public: it holds no data until the operator enters the admin key."""
    html = (STATIC / "index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/admin/static/{name}", include_in_schema=False)
def dashboard_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:  # a fixed list: no path from the URL ever reaches the file system
        raise NotFound(f"No dashboard asset named {name!r}.")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=f"{media_type}; charset=utf-8", headers=HEADERS)
