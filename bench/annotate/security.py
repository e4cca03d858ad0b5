"""The app's guards: CSRF double-submit cookie, the admin password, response headers.

CSRF: the annotator page sets a random cookie (SameSite=Lax, HttpOnly) and puts the same
value in a hidden form field; an answer is accepted only when both are present and equal.
Another site can make a browser post the form but can neither read the cookie nor set it,
so it cannot send the matching field.

Admin: HTTP Basic with the password in ADMIN_PASSWORD_ENV (any user name); with the
variable unset or empty the admin pages do not exist (404).

Failed admin logins: at most LOGIN_FAILURES per client in LOGIN_WINDOW_S, then 429 with
Retry-After until the window has passed (in memory, per server process).

TLS: the app speaks plain HTTP; a reverse proxy terminates TLS (docs/human-evaluation.md).
Cookies get the Secure flag when the request came over https: the app's own scheme, or, only
with TRUST_PROXY_ENV=1 (set it only behind a proxy that overwrites the header),
X-Forwarded-Proto: https. The client of the login limit is then X-Forwarded-For's last hop.

Headers: invite tokens travel in URL paths, so no page sends a Referer (no-referrer), none is
cached (no-store), and a strict Content-Security-Policy allows only the app's own script and
style files, a second wall should an escaped text ever get through.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from typing import Any

ADMIN_PASSWORD_ENV = "ERBENCH_ANNOTATE_ADMIN_PASSWORD"
TRUST_PROXY_ENV = "ERBENCH_ANNOTATE_TRUST_PROXY"
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 60.0
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


def is_https(request: Any, trust_proxy: bool) -> bool:
    """Did the browser reach us over TLS (directly, or through a trusted proxy)?"""
    if request.url.scheme == "https":
        return True
    return trust_proxy and request.headers.get("x-forwarded-proto", "").lower() == "https"


class LoginLimiter:
    """Failed admin logins per client in a sliding window (thread-safe)."""

    def __init__(self, failures: int = LOGIN_FAILURES, window_s: float = LOGIN_WINDOW_S,
                 clock: Any = time.monotonic):  # fmt: skip
        self.failures, self.window_s, self.clock = failures, window_s, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def client(request: Any, trust_proxy: bool) -> str:
        forwarded = request.headers.get("x-forwarded-for") if trust_proxy else None
        if forwarded:
            return forwarded.split(",")[-1].strip()
        return request.client.host if request.client else "?"

    def _recent(self, client: str) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= self.clock() - self.window_s:
            times.popleft()
        return times

    def blocked_for(self, client: str) -> int:
        """Seconds until this client may try again (0: now)."""
        with self._lock:
            times = self._recent(client)
            if len(times) < self.failures:
                return 0
            return max(1, math.ceil(times[0] + self.window_s - self.clock()))

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(self.clock())


def admin_refusal(password: str, given: str | None, client: str,
                  limiter: LoginLimiter) -> tuple[int, str, dict[str, str]] | None:  # fmt: skip
    """(status, message, headers) refusing an admin request, or None to let it in. `given`:
    the HTTP Basic password sent (None when none was); a wrong one counts against `client`."""
    if not password:
        return 404, f"The admin page is off: set {ADMIN_PASSWORD_ENV} to turn it on.", {}
    wait = limiter.blocked_for(client)
    if wait:
        return 429, f"Too many wrong passwords; try again in {wait} s.", {"Retry-After": str(wait)}
    if given is None or not admin_password_ok(password, given):
        if given is not None:
            limiter.failed(client)
        return 401, "The admin page needs the password.", {
            "WWW-Authenticate": 'Basic realm="erbench annotation admin"'}  # fmt: skip
    return None
