"""The judge's reply cache: an SQLite store of raw replies keyed by (model, prompt-template
sha256, input sha256), shared safely by threads and processes (WAL, one lock per connection).
Raw replies are cached, never parsed scores, so a parser change needs no cache invalidation."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path


class ReplyCache:
    """SQLite store of raw judge replies, keyed by (model, prompt sha256, input sha256)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies ("
                " model TEXT NOT NULL, prompt_sha256 TEXT NOT NULL, input_sha256 TEXT NOT NULL,"
                " reply TEXT, served_model TEXT, created REAL NOT NULL,"
                " PRIMARY KEY (model, prompt_sha256, input_sha256))"
            )

    def get(self, model: str, prompt_sha: str, input_sha: str) -> tuple[bool, str | None, str | None]:
        """(hit, reply, served_model); the served model is what the endpoint said it ran."""
        with self._lock:
            row = self._db.execute(
                "SELECT reply, served_model FROM replies"
                " WHERE model=? AND prompt_sha256=? AND input_sha256=?",
                (model, prompt_sha, input_sha),
            ).fetchone()
        return (True, row[0], row[1]) if row else (False, None, None)

    def put(self, model: str, prompt_sha: str, input_sha: str, reply: str | None,
            served_model: str | None = None) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies"
                " (model, prompt_sha256, input_sha256, reply, served_model, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (model, prompt_sha, input_sha, reply, served_model, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
