"""Secrets out of every message, log line and file: an API key an endpoint echoes (a 401 body
quoting the Authorization header, a proxy's error page, a reply's text) is replaced before the
text goes anywhere.

Before, a judge endpoint answering 401 with the header in its body put the key on the screen
and into metrics.json `unavailable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter values would blank ordinary text
# a bearer token or an api-key header quoted in a body, whatever the key
_QUOTED = re.compile(
    r"(?i)\b(bearer\s+|api[-_]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/=-]{"
    + str(MIN_SECRET)
    + ",}"
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with each of `secrets` (and any quoted bearer token or api-key value) replaced by
    [redacted]."""
    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _QUOTED.sub(lambda m: m.group(1) + REDACTED, text)
