"""The campaign database (SQLite, WAL): items, annotators, what was served, every answer.

Each request opens its own connection; every write is one `BEGIN IMMEDIATE` transaction, so
concurrent annotators serialise on SQLite's write lock (waiting up to BUSY_TIMEOUT_S) and an
answer is committed before the next item is served. An answer is accepted only with the
nonce of an item served to that annotator and not yet answered: `served` holds one row per
(annotator, item) and `answers` a UNIQUE (annotator, item), so a forged, repeated or replayed
answer cannot add a row. Which item comes next and on which side is bench.annotate.assignment.

Items are real (sampled from the runs), practice (never counted) or gold (known answers,
checked at analysis). Each answer keeps the seconds since its item was first served and the
crowd-platform ids of its annotator; an undone answer moves to `undone` (kept for the record)
and its item is served again.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.annotate.assignment import GOLD, PRACTICE, REAL, ItemRow, Policy, ServedRow, next_item
from bench.annotate.assignment import a_on_left as choose_side

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
    explanation_b TEXT,
    kind TEXT NOT NULL DEFAULT 'real',
    gold_answers TEXT
);
CREATE TABLE IF NOT EXISTS annotators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    invited_at TEXT NOT NULL,
    revoked_at TEXT,
    platform TEXT,
    participant_id TEXT,
    crowd_json TEXT NOT NULL DEFAULT '{}',
    consented_at TEXT,
    instructed_at TEXT
);
CREATE TABLE IF NOT EXISTS study_links (
    token_sha256 TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS undone (
    answer_id INTEGER NOT NULL,
    annotator_id INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    answer TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    undone_at TEXT NOT NULL
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
    seconds REAL,
    crowd_json TEXT NOT NULL DEFAULT '{}',
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


# columns added since schema 1: a campaign made by an older erbench gets them on open
ADDED_COLUMNS = {
    "items": [("kind", "TEXT NOT NULL DEFAULT 'real'"), ("gold_answers", "TEXT")],
    "annotators": [("revoked_at", "TEXT"), ("platform", "TEXT"), ("participant_id", "TEXT"),
                   ("crowd_json", "TEXT NOT NULL DEFAULT '{}'"), ("consented_at", "TEXT"),
                   ("instructed_at", "TEXT")],
    "answers": [("seconds", "REAL"), ("crowd_json", "TEXT NOT NULL DEFAULT '{}'")],
}  # fmt: skip


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
    kind: str = REAL
    gold_answers: tuple[str, ...] | None = None  # gold/practice: accepted answers, in A/B terms


@dataclass(frozen=True)
class Annotator:
    id: int
    name: str
    consented: bool = False
    instructed: bool = False
    crowd: dict[str, str] | None = None


@dataclass(frozen=True)
class Served:
    item: Item
    nonce: str
    a_on_left: bool
    position: int  # 1-based: this is item `position` of `total` for the annotator
    total: int | None  # None when not known in advance (items shared out per_item)


@dataclass(frozen=True)
class Recorded:
    kind: str  # real | practice | gold
    expected: tuple[str, ...] | None  # the accepted answers as the annotator saw them (sides)


def on_screen(answer: str, a_on_left: bool) -> str:
    """An answer in A/B terms (a, b, tie, ...) as the page's left/right, or back: symmetric."""
    if a_on_left:
        return {"a": "left", "b": "right", "left": "a", "right": "b"}.get(answer, answer)
    return {"a": "right", "b": "left", "left": "b", "right": "a"}.get(answer, answer)


class CampaignStore:
    def __init__(self, path: str | Path, seed: int = 0, policy: Policy | None = None):
        self.path = Path(path)
        self.seed = seed  # orders each annotator's queue and breaks ties, reproducibly
        self.policy = policy or Policy()

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
        """Create the database (WAL mode persists in the file) and insert the items."""
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO items (id, record_idx, user_id, item_id, context_json, run_a,"
                " explanation_a, run_b, explanation_b, kind, gold_answers) VALUES (:id,"
                " :record_idx, :user_id, :item_id, :context_json, :run_a, :explanation_a,"
                " :run_b, :explanation_b, :kind, :gold_answers)",
                [
                    {"kind": REAL, "gold_answers": None, **it,
                     "context_json": json.dumps(it["context"])}
                    | ({"gold_answers": json.dumps(it["gold_answers"])}
                       if it.get("gold_answers") else {})
                    for it in items
                ],
            )  # fmt: skip

    def migrate(self) -> None:
        """Add the columns and tables newer than the database (a no-op when up to date)."""
        with self.transaction() as conn:
            for table, columns in ADDED_COLUMNS.items():
                have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
                for name, decl in columns:
                    if name not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
            for statement in SCHEMA.split(";"):
                if "CREATE TABLE" in statement:
                    conn.execute(statement)

    # -- annotators --------------------------------------------------------------------------

    def add_annotators(self, count: int, token_digests: list[str],
                       platform: str | None = None, participant_id: str | None = None) -> list[str]:  # fmt: skip
        """Add `count` annotators named annotator-<k>, numbered on from the existing ones."""
        with self.transaction() as conn:
            start = conn.execute("SELECT COUNT(*) FROM annotators").fetchone()[0]
            names = [f"annotator-{start + k + 1}" for k in range(count)]
            conn.executemany(
                "INSERT INTO annotators (name, token_sha256, invited_at, platform, participant_id)"
                " VALUES (?, ?, ?, ?, ?)",
                [(name, digest, now(), platform, participant_id)
                 for name, digest in zip(names, token_digests, strict=True)],
            )  # fmt: skip
        return names

    def annotator(self, token_digest: str) -> Annotator | None:
        """The annotator holding this token (None when unknown or revoked)."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT id, name, consented_at, instructed_at, crowd_json FROM annotators"
                " WHERE token_sha256 = ? AND revoked_at IS NULL",
                (token_digest,),
            ).fetchone()
        if not row:
            return None
        return Annotator(row["id"], row["name"], row["consented_at"] is not None,
                         row["instructed_at"] is not None, json.loads(row["crowd_json"]))  # fmt: skip

    def participant(self, platform: str, participant_id: str) -> str | None:
        """The name of the annotator a crowd platform's participant already is, if any."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT name FROM annotators WHERE platform = ? AND participant_id = ?",
                (platform, participant_id),
            ).fetchone()
        return row["name"] if row else None

    def replace_token(self, name: str, token_digest: str) -> None:
        """Reissue: `name` gets a new token (the old link stops working); answers stay."""
        with self.transaction() as conn:
            done = conn.execute(
                "UPDATE annotators SET token_sha256 = ?, revoked_at = NULL WHERE name = ?",
                (token_digest, name),
            ).rowcount
        if not done:
            raise KeyError(name)

    def revoke(self, name: str) -> None:
        """The annotator's link stops working; their answers stay (exclude them at analysis)."""
        with self.transaction() as conn:
            done = conn.execute(
                "UPDATE annotators SET revoked_at = ? WHERE name = ?", (now(), name)
            ).rowcount
        if not done:
            raise KeyError(name)

    def set_crowd(self, annotator: Annotator, crowd: dict[str, str]) -> None:
        """Keep the crowd-platform ids an annotator's link carried (copied into each answer)."""
        with self.transaction() as conn:
            conn.execute("UPDATE annotators SET crowd_json = ? WHERE id = ?",
                         (json.dumps(crowd, sort_keys=True), annotator.id))  # fmt: skip

    def mark(self, annotator: Annotator, step: str) -> None:
        """Record that the annotator agreed to the consent page or read the instructions."""
        column = {"consent": "consented_at", "instructions": "instructed_at"}[step]
        with self.transaction() as conn:
            conn.execute(f"UPDATE annotators SET {column} = COALESCE({column}, ?) WHERE id = ?",
                         (now(), annotator.id))  # fmt: skip

    # -- study links (one link for a whole crowd study) --------------------------------------

    def add_study_link(self, token_digest: str, platform: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO study_links (token_sha256, platform, created_at)"
                         " VALUES (?, ?, ?)", (token_digest, platform, now()))  # fmt: skip

    def study_link(self, token_digest: str) -> str | None:
        """The platform of a live study link (None when unknown or revoked)."""
        with self.connect() as conn:
            row = conn.execute("SELECT platform FROM study_links WHERE token_sha256 = ?"
                               " AND revoked_at IS NULL", (token_digest,)).fetchone()  # fmt: skip
        return row["platform"] if row else None

    def revoke_study_links(self) -> int:
        with self.transaction() as conn:
            return conn.execute("UPDATE study_links SET revoked_at = ? WHERE revoked_at IS NULL",
                                (now(),)).rowcount  # fmt: skip

    # -- serving and answering ---------------------------------------------------------------

    def _item(self, conn: sqlite3.Connection, item_id: int) -> Item:
        row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        data = dict(row)
        data["context"] = json.loads(data.pop("context_json"))
        gold = data.pop("gold_answers")
        return Item(**data, gold_answers=tuple(json.loads(gold)) if gold else None)

    def _state(self, conn: sqlite3.Connection) -> tuple[dict[int, ItemRow], list[ServedRow]]:
        items = {
            r["id"]: ItemRow(r["id"], r["kind"], r["run_a"], r["run_b"])
            for r in conn.execute("SELECT id, kind, run_a, run_b FROM items")
        }
        served = [
            ServedRow(r["annotator_id"], r["item_id"], bool(r["a_on_left"]), r["answer"])
            for r in conn.execute(
                "SELECT s.annotator_id, s.item_id, s.a_on_left, x.answer FROM served s"
                " LEFT JOIN answers x ON x.annotator_id = s.annotator_id AND x.item_id = s.item_id"
                " ORDER BY s.rowid"
            )
        ]
        return items, served

    def planned(self, items: dict[int, ItemRow]) -> int | None:
        """Items one annotator answers in all (practice and gold included) when known."""
        kinds = [it.kind for it in items.values()]
        real = kinds.count(REAL)
        if self.policy.per_item is not None:
            return None  # depends on how many others are served each item first
        if self.policy.quota is not None:
            real = min(real, self.policy.quota)
        every = self.policy.gold_every
        gold = min(kinds.count(GOLD), real // every) if every else 0
        return kinds.count(PRACTICE) + real + gold

    def serve(self, annotator: Annotator) -> Served | None:
        """The annotator's next item (None when there is nothing more for them). An item served
        before and not answered is served again as it was (same sides, same nonce), so a
        reload resumes where the annotator left off."""
        with self.transaction() as conn:
            items, served = self._state(conn)
            item_id = next_item(items, served, annotator.id, annotator.name, self.policy,
                                self.seed)  # fmt: skip
            if item_id is None:
                return None
            row = conn.execute(
                "SELECT nonce, a_on_left FROM served WHERE annotator_id = ? AND item_id = ?",
                (annotator.id, item_id),
            ).fetchone()
            if row is None:
                left = choose_side(items, served, item_id, annotator.name, self.seed)
                row = {"nonce": secrets.token_urlsafe(16), "a_on_left": int(left)}
                conn.execute(
                    "INSERT INTO served (annotator_id, item_id, nonce, a_on_left, served_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (annotator.id, item_id, row["nonce"], row["a_on_left"], now()),
                )
            answered = sum(1 for s in served if s.annotator_id == annotator.id and s.answer)
            return Served(self._item(conn, item_id), row["nonce"], bool(row["a_on_left"]),
                          answered + 1, self.planned(items))  # fmt: skip

    def record_answer(
        self, annotator: Annotator, item_id: int, nonce: str, answer: str, comment: str = ""
    ) -> Recorded:
        """Commit one answer, or raise Rejected: 403 for an item not served to this annotator
        (or a wrong nonce), 409 for an item this annotator already answered. Arena answers
        arrive as the page's sides (left/right) and are kept so, with the sides served."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT nonce, served_at, a_on_left FROM served"
                " WHERE annotator_id = ? AND item_id = ?",
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
            answered_at = now()
            conn.execute(
                "INSERT INTO answers (annotator_id, item_id, answer, comment, answered_at,"
                " seconds, crowd_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (annotator.id, item_id, answer, comment, answered_at,
                 seconds_between(row["served_at"], answered_at),
                 json.dumps(annotator.crowd or {}, sort_keys=True)),
            )  # fmt: skip
            item = self._item(conn, item_id)
        expected = None
        if item.gold_answers:
            expected = tuple(on_screen(a, bool(row["a_on_left"])) for a in item.gold_answers)
        return Recorded(item.kind, expected)

    def undo(self, annotator: Annotator) -> int | None:
        """Take back the annotator's last answer (kept in `undone`); its item is served again
        with the same sides. The item id, or None when there is nothing to undo."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id, item_id, answer, answered_at FROM answers WHERE annotator_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (annotator.id,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT INTO undone (answer_id, annotator_id, item_id, answer, answered_at,"
                " undone_at) VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], annotator.id, row["item_id"], row["answer"], row["answered_at"], now()),
            )
            conn.execute("DELETE FROM answers WHERE id = ?", (row["id"],))
            return int(row["item_id"])

    # -- reading back --------------------------------------------------------------------------

    def count_items(self, kind: str = REAL) -> int:
        with self.connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0]

    def answered_by(self, annotator: Annotator) -> int:
        """Real and gold answers the annotator gave (practice not counted)."""
        with self.connect() as conn:
            return conn.execute(
                "SELECT COUNT(*) FROM answers x JOIN items i ON i.id = x.item_id"
                " WHERE x.annotator_id = ? AND i.kind != 'practice'",
                (annotator.id,),
            ).fetchone()[0]

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        with self.connect() as conn:
            return [dict(r) for r in conn.execute(sql).fetchall()]

    def progress(self) -> list[dict[str, Any]]:
        """Per annotator: name, answered (real items), last answer time, link state."""
        return self._rows(
            "SELECT a.name, COUNT(CASE WHEN i.kind = 'real' THEN x.id END) AS answered,"
            " MAX(x.answered_at) AS last, a.revoked_at, a.platform, a.participant_id"
            " FROM annotators a LEFT JOIN answers x ON x.annotator_id = a.id"
            " LEFT JOIN items i ON i.id = x.item_id"
            " GROUP BY a.id ORDER BY a.id"
        )

    def answers(self, kinds: tuple[str, ...] = (REAL,)) -> list[dict[str, Any]]:
        """Every answer with what was served: item, runs, side, times (answer order)."""
        rows = self._rows(
            "SELECT x.id AS answer_id, a.name AS annotator, x.item_id, i.record_idx,"
            " i.user_id, i.item_id AS item, i.run_a, i.run_b, s.a_on_left, x.answer,"
            " x.comment, s.served_at, x.answered_at, x.seconds, x.crowd_json, i.kind,"
            " i.gold_answers"
            " FROM answers x JOIN annotators a ON a.id = x.annotator_id"
            " JOIN items i ON i.id = x.item_id"
            " JOIN served s ON s.annotator_id = x.annotator_id AND s.item_id = x.item_id"
            " ORDER BY x.id"
        )
        out = []
        for row in rows:
            if row["kind"] not in kinds:
                continue
            row["crowd"] = json.loads(row.pop("crowd_json") or "{}")
            gold = row.pop("gold_answers")
            row["gold_answers"] = json.loads(gold) if gold else None
            out.append(row)
        return out


def seconds_between(start: str, end: str) -> float:
    def parse(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    return round((parse(end) - parse(start)).total_seconds(), 3)
