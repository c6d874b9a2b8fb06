"""The browser wiki's page shell: the built index.html for "/" and every client-side route.

Vite builds the single-page app into frontend/dist and collectstatic copies it into STATIC_ROOT;
whitenoise serves its assets under /static/, and this view serves the HTML that loads them, on
the same origin as the REST API and the collab WebSocket (so the session cookie and CSRF work
for both). It also sets the CSRF cookie that the app's first write needs.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kb: frontend not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The kb frontend has not been built</h1>
<p>The API is up (<a href="/api/docs/">/api/docs/</a>), but <code>frontend/dist/index.html</code>
is missing. Build it with <code>./dev run</code>, or <code>cd frontend &amp;&amp; npm ci &amp;&amp;
npm run build</code> followed by <code>python manage.py collectstatic</code>.</p>
</body></html>
"""

# Scripts only from this origin: a byte's markdown is sanitized before it is shown, and this
# policy keeps anything that slipped through from running. Styles are inline-injected by
# CodeMirror; images in markdown may come from anywhere over HTTPS.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def shell_path() -> Path:
    """The index.html of the same build as the assets whitenoise serves.

    Without DEBUG whitenoise serves the collected copy in STATIC_ROOT, so the page comes from
    there too: a rebuild of frontend/dist without collectstatic (the asset names are content
    hashes) must not hand out a page whose scripts the server does not have. With DEBUG
    whitenoise reads frontend/dist directly, and so does this.
    """
    if settings.DEBUG:
        return Path(settings.FRONTEND_DIST) / "index.html"
    return Path(settings.STATIC_ROOT) / "index.html"


@require_safe
@never_cache
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The single-page app's HTML, or a 503 page saying how to build it."""
    try:
        html = shell_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/html; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
