"""Crowd-platform links: the ids Prolific and MTurk append to a study URL.

Prolific appends PROLIFIC_PID, STUDY_ID and SESSION_ID; MTurk's external question appends
workerId, assignmentId and hitId (assignmentId ASSIGNMENT_ID_NOT_AVAILABLE while a worker only
previews the task). One study link (`bench annotate invite --study prolific`) serves a whole
study: each new participant id becomes an annotator, a returning one resumes. The ids are
kept with the annotator and copied into every answer they give.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLATFORMS = {
    "prolific": ("PROLIFIC_PID", ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")),
    "mturk": ("workerId", ("workerId", "assignmentId", "hitId")),
}
ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,128}")  # what the platforms' ids look like
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"


def crowd_ids(query: Mapping[str, str]) -> dict[str, str]:
    """The platform ids present in a query string, each checked (others are ignored)."""
    out = {}
    for _participant, names in PLATFORMS.values():
        for name in names:
            value = query.get(name)
            if value is not None and ID_PATTERN.fullmatch(value):
                out[name] = value
    return out


def participant(platform: str, ids: Mapping[str, str]) -> str | None:
    """The participant id for `platform` among the ids (None when the link has none)."""
    return ids.get(PLATFORMS[platform][0])
