"""The app's guards: CSRF double-submit cookie, the admin password, response headers.

CSRF: the annotator page sets a random cookie (SameSite=Lax, HttpOnly) and puts the same
value in a hidden form field; an answer is accepted only when both are present and equal.
Another site can make a browser post the form but can neither read the cookie nor set it,
so it cannot send the matching field.

Admin: HTTP Basic with the password in ADMIN_PASSWORD_ENV (any user name); with the
variable unset or empty the admin pages do not exist (404).

Headers: invite tokens travel in URL paths, so no page sends a Referer (no-referrer), none is
cached (no-store), and a strict Content-Security-Policy allows only the app's own script and
style files, a second wall should an escaped text ever get through.
"""

from __future__ import annotations

import secrets

ADMIN_PASSWORD_ENV = "ERBENCH_ANNOTATE_ADMIN_PASSWORD"
CSRF_COOKIE = "erbench_csrf"
CSRF_FIELD = "csrf"

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, field: str | None) -> bool:
    return bool(cookie) and bool(field) and secrets.compare_digest(str(cookie), str(field))


def admin_password_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and secrets.compare_digest(expected.encode(), (given or "").encode())
