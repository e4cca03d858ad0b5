"""The campaign database (SQLite, WAL): items, annotators, what was served, every answer.

Each request opens its own connection; every write is one `BEGIN IMMEDIATE` transaction, so
concurrent annotators serialise on SQLite's write lock (waiting up to BUSY_TIMEOUT_S) and an
answer is committed before the next item is served. An answer is accepted only with the
nonce of an item served to that annotator and not yet answered: `served` holds one row per
(annotator, item) and `answers` a UNIQUE (annotator, item), so a forged, repeated or replayed
answer cannot add a row.
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    record_idx INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    context_json TEXT NOT NULL,
    run_a TEXT NOT NULL,
    explanation_a TEXT NOT NULL,
    run_b TEXT,
    explanation_b TEXT
);
CREATE TABLE IF NOT EXISTS annotators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    invited_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS served (
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    item_id INTEGER NOT NULL REFERENCES items(id),
    nonce TEXT NOT NULL UNIQUE,
    a_on_left INTEGER NOT NULL,
    served_at TEXT NOT NULL,
    PRIMARY KEY (annotator_id, item_id)
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    annotator_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    answered_at TEXT NOT NULL,
    UNIQUE (annotator_id, item_id),
    FOREIGN KEY (annotator_id, item_id) REFERENCES served(annotator_id, item_id)
);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Rejected(Exception):
    """An answer the app refuses; `status` is the HTTP status it is answered with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Item:
    id: int
    record_idx: int
    user_id: str
    item_id: str
    context: dict[str, Any]
    run_a: str
    explanation_a: str
    run_b: str | None
    explanation_b: str | None


@dataclass(frozen=True)
class Annotator:
    id: int
    name: str


@dataclass(frozen=True)
class Served:
    item: Item
    nonce: str
    a_on_left: bool
    position: int  # 1-based: this is item `position` of `total` for the annotator
    total: int


class CampaignStore:
    def __init__(self, path: str | Path, seed: int = 0):
        self.path = Path(path)
        self.seed = seed  # orders each annotator's queue and picks sides, reproducibly

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")  # a committed answer survives a power cut
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlocks
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def initialise(self, items: list[dict[str, Any]]) -> None:
        """Create the database (WAL mode persists in the file) and insert the sampled items."""
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO items (id, record_idx, user_id, item_id, context_json, run_a,"
                " explanation_a, run_b, explanation_b) VALUES (:id, :record_idx, :user_id,"
                " :item_id, :context_json, :run_a, :explanation_a, :run_b, :explanation_b)",
                [{**it, "context_json": json.dumps(it["context"])} for it in items],
            )

    # -- annotators --------------------------------------------------------------------------

    def add_annotators(self, count: int, token_digests: list[str]) -> list[str]:
        """Add `count` annotators named annotator-<k>, numbered on from the existing ones."""
        with self.transaction() as conn:
            start = conn.execute("SELECT COUNT(*) FROM annotators").fetchone()[0]
            names = [f"annotator-{start + k + 1}" for k in range(count)]
            conn.executemany(
                "INSERT INTO annotators (name, token_sha256, invited_at) VALUES (?, ?, ?)",
                [(name, digest, now()) for name, digest in zip(names, token_digests, strict=True)],
            )
        return names

    def annotator(self, token_digest: str) -> Annotator | None:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT id, name FROM annotators WHERE token_sha256 = ?", (token_digest,)
            ).fetchone()
        return Annotator(row["id"], row["name"]) if row else None

    # -- serving and answering ---------------------------------------------------------------

    def _order(self, conn: sqlite3.Connection, annotator: Annotator) -> list[int]:
        ids = [r[0] for r in conn.execute("SELECT id FROM items ORDER BY id")]
        random.Random(f"order/{self.seed}/{annotator.name}").shuffle(ids)
        return ids

    def _item(self, conn: sqlite3.Connection, item_id: int) -> Item:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        data = dict(row)
        data["context"] = json.loads(data.pop("context_json"))
        return Item(**data)

    def serve(self, annotator: Annotator) -> Served | None:
        """The annotator's next unanswered item (None when all are answered). An item served
        before and not answered is served again as it was (same sides, same nonce), so a
        reload resumes where the annotator left off."""
        with self.transaction() as conn:
            order = self._order(conn, annotator)
            answered = {
                r[0]
                for r in conn.execute(
                    "SELECT item_id FROM answers WHERE annotator_id = ?", (annotator.id,)
                )
            }
            pending = [i for i in order if i not in answered]
            if not pending:
                return None
            item_id = pending[0]
            row = conn.execute(
                "SELECT nonce, a_on_left FROM served WHERE annotator_id = ? AND item_id = ?",
                (annotator.id, item_id),
            ).fetchone()
            if row is None:
                side = random.Random(f"side/{self.seed}/{annotator.name}/{item_id}")
                row = {"nonce": secrets.token_urlsafe(16), "a_on_left": int(side.random() < 0.5)}
                conn.execute(
                    "INSERT INTO served (annotator_id, item_id, nonce, a_on_left, served_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (annotator.id, item_id, row["nonce"], row["a_on_left"], now()),
                )
            return Served(
                self._item(conn, item_id),
                row["nonce"],
                bool(row["a_on_left"]),
                len(answered) + 1,
                len(order),
            )

    def record_answer(
        self, annotator: Annotator, item_id: int, nonce: str, answer: str, comment: str = ""
    ) -> None:
        """Commit one answer, or raise Rejected: 403 for an item not served to this annotator
        (or a wrong nonce), 409 for an item this annotator already answered."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT nonce FROM served WHERE annotator_id = ? AND item_id = ?",
                (annotator.id, item_id),
            ).fetchone()
            if row is None or not secrets.compare_digest(row["nonce"], nonce):
                raise Rejected(403, "this item was not served to you")
            done = conn.execute(
                "SELECT 1 FROM answers WHERE annotator_id = ? AND item_id = ?",
                (annotator.id, item_id),
            ).fetchone()
            if done:
                raise Rejected(409, "your answer to this item is already recorded")
            conn.execute(
                "INSERT INTO answers (annotator_id, item_id, answer, comment, answered_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (annotator.id, item_id, answer, comment, now()),
            )

    # -- reading back --------------------------------------------------------------------------

    def count_items(self) -> int:
        with self.connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return [dict(r) for r in conn.execute(sql).fetchall()]

    def progress(self) -> list[dict[str, Any]]:
        """Per annotator: name, answered, last answer time (invitation order)."""
        return self._rows(
            "SELECT a.name, COUNT(x.id) AS answered, MAX(x.answered_at) AS last"
            " FROM annotators a LEFT JOIN answers x ON x.annotator_id = a.id"
            " GROUP BY a.id ORDER BY a.id"
        )

    def answers(self) -> list[dict[str, Any]]:
        """Every answer with what was served: item, runs, side, times (answer order)."""
        return self._rows(
            "SELECT x.id AS answer_id, a.name AS annotator, x.item_id, i.record_idx,"
            " i.user_id, i.item_id AS item, i.run_a, i.run_b, s.a_on_left, x.answer,"
            " x.comment, s.served_at, x.answered_at"
            " FROM answers x JOIN annotators a ON a.id = x.annotator_id"
            " JOIN items i ON i.id = x.item_id"
            " JOIN served s ON s.annotator_id = x.annotator_id AND s.item_id = x.item_id"
            " ORDER BY x.id"
        )
