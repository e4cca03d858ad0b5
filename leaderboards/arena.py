"""`kind: arena` specs: the arena and alignment tables of Albert et al. (§2) from finished runs.

For each dataset of the spec, the rows' runs are found in the results store (as any table's),
then four tables are built from their run folders, raw votes and the stored alignment scores
only; `bench judge --spec S` (bench/judge_step.py) judges and scores first, as its own step:

1. arena — per vote source (the AI judge; humans, from the annotation app's votes.jsonl files
   the spec lists): Bradley–Terry score on the Elo scale with its 95% bootstrap interval,
   overall win rate (ties half), wins / losses / ties / both-bad and the number of votes
   (metrics.arena);
2. pairs — every pair of rows: decisive votes each way, ties, the first row's win rate, the
   exact binomial p and its Holm-adjusted value (the paper: no significant difference, n=216);
3. win-rate matrix — row model's win rate against each column model;
4. alignment — over the test records all rows share, scored (by `bench judge`) with the metric suite with the
   teacher row's explanation of the same record as the reference: ROUGE-L F1 (rouge-score,
   Lin 2004; mean per explanation), sacreBLEU-4 (corpus), USR; and per explanation: words,
   movie terms, residual technical terms, subjective words (metrics.explanation_style,
   lexicons named there); † marks p < alpha against the spec's reference row (paired t-test
   over records, metrics.significance; per-explanation columns only).

AI votes are judged once and stored (leaderboards.arena_judge names the files); every table is
recomputed from the stored votes and scores; a dataset without them is noted, never judged here. Spec keys under `arena:`:
judge (rule | endpoint), judge_base_url, judge_model, judge_api_key_env, judge_margin,
battles (AI-judged battles, each voted in both orders; default 216), seed, bootstrap (resamples,
default 200), bt_alpha (the BT prior, default 0.01), human_votes (glob patterns of votes.jsonl
files), teacher_row (the row whose explanations are the ROUGE-L reference), profile (use only
runs of this profile).
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.api.errors import BenchError
from bench.api.judgments import ArenaVote, read_votes
from leaderboards.runs import RunInfo, assign_runs, load_runs
from leaderboards.spec import ColumnSpec, RowSpec, Spec
from leaderboards.table import MISSING_MARK, SIG_MARK, Block, Cell, Column, Row, Table

ARENA_KEYS = {
    "judge", "judge_base_url", "judge_model", "judge_api_key_env", "judge_margin", "battles",
    "seed", "bootstrap", "bt_alpha", "human_votes", "teacher_row", "profile",
}  # fmt: skip


class ArenaTable(Table):
    """A Table whose footnotes are its own lines (no seed / ranking boilerplate)."""

    lines: list[str]

    def footnotes(self) -> list[str]:
        return list(getattr(self, "lines", []))


@dataclass
class TableSet:
    """The tables one arena spec renders, one after the other."""

    name: str
    tables: list[Table] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def render_set(tables: TableSet, fmt: str) -> str:
    from leaderboards.render import render

    return "\n".join(render(t, fmt) for t in tables.tables)


# -- table helpers -----------------------------------------------------------------------------


def _column(cid: str, label: str, decimals: int, higher: bool | None = None, top: str | None = None) -> Column:
    return Column(cid, label, None, top, decimals, higher, ColumnSpec(id=cid, metric=cid, label=label, decimals=decimals))


def _table(spec: Spec, suffix: str, title: str, columns: list[Column], blocks: list[Block],
           lines: list[str], missing: list[str]) -> ArenaTable:  # fmt: skip
    table = ArenaTable(
        name=f"{spec.name}-{suffix}", title=title, source=spec.source, columns=columns, blocks=blocks,
        missing=missing, notes=[], reference=None, alpha=spec.alpha, seeds=[], spec=spec,
    )  # fmt: skip
    table.lines = ([f"Source: {spec.source}."] if spec.source else []) + lines
    return table


def _num(value: float | None, **kw: Any) -> Cell:
    return Cell(mean=value, n=1, **kw) if value is not None else Cell()


def _text(text: str) -> Cell:
    return Cell(text=text, n=1)


# -- runs -----------------------------------------------------------------------------------------


def rows_and_runs(spec: Spec, store: Any, dataset: str, profile: str | None) -> tuple[list[tuple[RowSpec, RunInfo]], list[str], list[str]]:
    runs = load_runs(store)
    if profile is not None:
        runs = [r for r in runs if r.profile == profile]
    assigned, notes = assign_runs(spec, runs)
    picked, missing = [], []
    for row in spec.reproduced_rows():
        by_seed = assigned.get((row.id, dataset), {})
        if not by_seed:
            missing.append(f"{row.label} / {spec.dataset_label(dataset)}: no finished run")
            continue
        picked.append((row, by_seed[min(by_seed)]))
    return picked, notes, missing


def teacher_index(picked: list[tuple[RowSpec, RunInfo]], settings: dict[str, Any]) -> int | None:
    """The row whose explanations are the alignment reference (arena.teacher_row, else the
    distill-teacher run)."""
    found = next((i for i, (row, _) in enumerate(picked) if row.id == settings["teacher_row"]), None)
    if found is None:
        found = next((i for i, (_, run) in enumerate(picked) if run.method == "distill-teacher"), None)
    return found


def predictions(run: RunInfo) -> list[dict[str, Any]]:
    from bench.api.run_folder import RunFolder

    folder = RunFolder(run.run_dir)
    if not folder.predictions.exists():
        raise BenchError(f"{run.run_dir} has no {folder.predictions.name}; re-run {run.method} with --force")
    return folder.read_predictions()


def same_records(rows: list[list[dict[str, Any]]]) -> bool:
    keys = [[(str(r.get("user_id")), str(r.get("item_id"))) for r in rs] for rs in rows]
    return all(k == keys[0] for k in keys)


# -- the arena ------------------------------------------------------------------------------------


def _votes_to_battles(votes: Sequence[ArenaVote], index: dict[str, int]):
    from metrics.arena import Battle

    battles, skipped = [], 0
    for v in votes:
        if v.left_run in index and v.right_run in index:
            battles.append(Battle(index[v.left_run], index[v.right_run], v.outcome))
        else:
            skipped += 1
    return battles, skipped


def _arena_block(title: str, labels: list[str], battles: list, settings: dict[str, Any]) -> tuple[Block, list[Row]]:
    from metrics import arena as A

    n = len(labels)
    theta = A.bradley_terry(n, battles, settings["bt_alpha"])
    scores = A.elo(theta)
    intervals = A.bootstrap_intervals(n, battles, n_boot=settings["bootstrap"], seed=settings["seed"],
                                      alpha=settings["bt_alpha"])  # fmt: skip
    overall = A.overall_win_rates(n, battles)
    counts = [{"wins": 0, "losses": 0, "ties": 0, "both_bad": 0, "votes": 0} for _ in range(n)]
    for bt in battles:
        for me, side in ((bt.a, "a"), (bt.b, "b")):
            c = counts[me]
            c["votes"] += 1
            if bt.outcome in ("tie", "both_bad"):
                c["ties" if bt.outcome == "tie" else "both_bad"] += 1
            elif bt.outcome == side:
                c["wins"] += 1
            else:
                c["losses"] += 1
    voted = [i for i in range(n) if counts[i]["votes"]]
    best = max(voted, key=lambda i: scores[i]) if voted else None
    rows = []
    for i, label in enumerate(labels):
        low, high = intervals[i]
        seen = counts[i]["votes"] > 0  # a model without votes has no score, only the prior's 1000
        ci = f"[{low:.0f}, {high:.0f}]" if seen else MISSING_MARK
        cells = [
            _num(scores[i] if seen else None, bold=(i == best)), _text(ci), _num(overall[i]),
            _num(float(counts[i]["wins"])), _num(float(counts[i]["losses"])),
            _num(float(counts[i]["ties"])), _num(float(counts[i]["both_bad"])), _num(float(counts[i]["votes"])),
        ]  # fmt: skip
        rows.append(Row(f"{title}/{label}", label, False, None, RowSpec(id=label, label=label), cells))
    return Block(title, None, rows), rows


ARENA_COLUMNS = [
    _column("bt", "BT score (Elo scale)", 0, True), _column("ci", "95% CI", 0),
    _column("win_rate", "win rate", 3, True), _column("wins", "wins", 0), _column("losses", "losses", 0),
    _column("ties", "ties", 0), _column("both_bad", "both bad", 0), _column("votes", "votes", 0),
]  # fmt: skip


def _pairs_block(title: str, labels: list[str], battles: list) -> Block:
    from metrics import arena as A

    records = A.pair_records(len(labels), battles)
    keys = sorted(records)
    ps = [A.binomial_p(records[k].wins_i, records[k].wins_j) for k in keys]
    adjusted = A.holm(ps)
    rows = []
    for (i, j), p, p_adj in zip(keys, ps, adjusted, strict=True):
        rec = records[(i, j)]
        label = f"{labels[i]} vs {labels[j]}"
        cells = [_num(float(rec.wins_i)), _num(float(rec.wins_j)), _num(float(rec.ties)), _num(float(rec.n)),
                 _num(rec.win_rate), _num(p), _num(p_adj, mark=p_adj is not None and p_adj < 0.05)]  # fmt: skip
        rows.append(Row(f"{title}/{label}", label, False, None, RowSpec(id=label, label=label), cells))
    return Block(title, None, rows)


PAIR_COLUMNS = [
    _column("wins_first", "wins (first)", 0), _column("wins_second", "wins (second)", 0),
    _column("ties", "ties + both bad", 0), _column("n", "votes", 0),
    _column("win_rate", "first's win rate", 3), _column("p", "p (binomial)", 3), _column("p_holm", "p (Holm)", 3),
]  # fmt: skip


def _matrix_block(title: str, labels: list[str], battles: list) -> Block:
    from metrics import arena as A

    matrix = A.win_rate_matrix(len(labels), battles)
    rows = []
    for i, label in enumerate(labels):
        cells = [_num(matrix[i][j]) if i != j else _text(MISSING_MARK) for j in range(len(labels))]
        rows.append(Row(f"{title}/{label}", label, False, None, RowSpec(id=label, label=label), cells))
    return Block(title, None, rows)


# -- alignment ------------------------------------------------------------------------------------

ALIGN_COLUMNS = [
    _column("rougeL_f", "ROUGE-L F1 vs teacher", 4, True), _column("bleu4_sacre", "BLEU-4 vs teacher", 2, True),
    _column("usr", "USR", 3, True), _column("words", "words", 1), _column("movie_terms", "movie terms", 2),
    _column("technical_terms", "technical terms", 2, False), _column("subjective_words", "subjective words", 2),
]  # fmt: skip
# The reference above is the teacher row's explanation: teacher instruction 0, the same text
# SFT trains on (methods.distill.prompts), so ROUGE-L favours SFT by construction. When the
# teacher row also wrote its other alternative (model.alternative_reference), a second column
# scores every row against that one.
ALT_COLUMN = _column("rougeL_f_alt", "ROUGE-L F1 vs teacher alternative", 4, True)
CORPUS_LEVEL = ("bleu4_sacre", "usr")  # one value per row: shown without a test
TEXT_METRICS = ["rouge", "bleu_sacre", "usr"]  # metric suite entries scored against the teacher


def _alignment_block(title: str, labels: list[str], values: list[dict[str, list[float]]],
                     reference: int | None, alpha: float,
                     columns: list[Column] = ALIGN_COLUMNS) -> Block:  # fmt: skip
    from metrics.significance import paired_ttest

    rows = []
    for i, label in enumerate(labels):
        cells = []
        for col in columns:
            vals = values[i][col.id]
            mean = sum(vals) / len(vals) if vals else None
            mark, p = False, None
            if col.id not in CORPUS_LEVEL and reference is not None and i != reference and len(vals) >= 2:
                p = paired_ttest(vals, values[reference][col.id]).p_value
                mark = p < alpha
            cells.append(_num(mean, mark=mark, p=p))
        rows.append(Row(f"{title}/{label}", label, False, None, RowSpec(id=label, label=label), cells))
    return Block(title, None, rows)


# -- the spec -------------------------------------------------------------------------------------


def settings_of(spec: Spec) -> dict[str, Any]:
    raw = dict(getattr(spec, "arena", {}) or {})
    unknown = sorted(set(raw) - ARENA_KEYS)
    if unknown:
        raise BenchError(f"spec {spec.name!r}: unknown arena key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(ARENA_KEYS))}")
    return {
        "judge": raw.get("judge", "rule"), "judge_base_url": raw.get("judge_base_url"),
        "judge_model": raw.get("judge_model"), "judge_api_key_env": raw.get("judge_api_key_env", "OPENAI_API_KEY"),
        "judge_margin": float(raw.get("judge_margin", 1.0)), "battles": int(raw.get("battles", 216)),
        "seed": int(raw.get("seed", 0)), "bootstrap": int(raw.get("bootstrap", 200)),
        "bt_alpha": float(raw.get("bt_alpha", 0.01)), "human_votes": list(raw.get("human_votes") or []),
        "teacher_row": raw.get("teacher_row"), "profile": raw.get("profile"),
    }  # fmt: skip


def _human_votes(patterns: list[str]) -> tuple[list[ArenaVote], list[str]]:
    votes, files = [], []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            votes += read_votes(path)
            files.append(path)
    return votes, files


def arena_tables(spec: Spec, store: Any, runs_dir: str | Path) -> TableSet:
    from leaderboards.arena_judge import JudgeSpec, judged_folder, stored_alignment, stored_votes

    s = settings_of(spec)
    out = TableSet(spec.name)
    judge_spec = JudgeSpec(s["judge"], s["judge_base_url"], s["judge_model"], s["judge_api_key_env"], s["judge_margin"])
    arena_blocks, pair_blocks, matrix_blocks = [], [], []
    arena_lines, align_lines = [], []
    pending_align: list[tuple[str, list[str], list[dict[str, list[float]]], int | None]] = []
    labels_for_matrix: list[str] = []
    for dataset in spec.datasets:
        picked, notes, missing = rows_and_runs(spec, store, dataset, s["profile"])
        out.notes += notes
        out.missing += missing
        ds = spec.dataset_label(dataset)
        if len(picked) < 2:
            continue
        labels = [row.label for row, _ in picked]
        preds = [predictions(run) for _, run in picked]
        if not same_records(preds):
            out.notes.append(
                f"{ds}: the rows' runs explain different test records ({', '.join(r.run_id for _, r in picked)}); "
                "run them with the same data settings, seed and eval.max_records"
            )
            continue
        index = {run.run_id: i for i, (_, run) in enumerate(picked)}
        sources: list[tuple[str, list[ArenaVote]]] = []
        folder = judged_folder(runs_dir, spec.name, dataset)
        run_ids = [run.run_id for _, run in picked]
        stored = stored_votes(folder, run_ids, judge_spec, s["battles"], s["seed"])
        if stored is None:
            out.notes.append(f"{ds}: no AI votes for these runs yet; run `bench judge --spec {spec.name}`")
        ai = stored or []
        judge_name = ai[0].annotator if ai else judge_spec.kind
        if stored is not None:
            sources.append((f"{ds} · AI judge ({judge_name})", ai))
        humans, files = _human_votes(s["human_votes"])
        if files:
            sources.append((f"{ds} · humans", humans))
        for title, votes in sources:
            battles, skipped = _votes_to_battles(votes, index)
            block, _rows = _arena_block(title, labels, battles, s)
            arena_blocks.append(block)
            pair_blocks.append(_pairs_block(title, labels, battles))
            matrix_blocks.append(_matrix_block(title, labels, battles))
            labels_for_matrix = labels
            if skipped:
                arena_lines.append(f"{title}: {skipped} vote(s) name runs outside this table; left out.")
        n_ai = len(ai)
        arena_lines.append(
            f"{ds}: AI judge {judge_name}: {n_ai} votes over {len({v.battle for v in ai})} battles "
            f"(each battle voted in both orders); human vote files: {', '.join(files) if files else 'none'}."
        )
        teacher_idx = teacher_index(picked, s)
        if teacher_idx is None:
            out.notes.append(f"{ds}: no teacher row (arena.teacher_row); alignment table skipped")
            continue
        scored = stored_alignment(folder, run_ids)
        if scored is None:
            out.notes.append(f"{ds}: no alignment scores for these runs yet; run `bench judge --spec {spec.name}`")
            continue
        values = scored["values"]
        reference = next((i for i, (row, _) in enumerate(picked) if row.id == spec.reference), None)
        pending_align.append((ds, labels, values, reference))
        align_lines.append(f"{ds}: n = {int(scored['n']):,} test records per row (the same records in every row); "
                           f"ROUGE-L reference: {labels[teacher_idx]} (teacher instruction 0, also SFT's "
                           "training target).")  # fmt: skip
    from metrics.explanation_style import LEXICON_VERSION

    with_alt = any(v["rougeL_f_alt"] for _, _, values, _ in pending_align for v in values)
    align_columns = [*ALIGN_COLUMNS[:1], ALT_COLUMN, *ALIGN_COLUMNS[1:]] if with_alt else ALIGN_COLUMNS
    align_blocks = [_alignment_block(ds, labels, values, ref, spec.alpha, align_columns)
                    for ds, labels, values, ref in pending_align]  # fmt: skip

    bt_line = (
        "Bradley–Terry (choix ILSR, regularization alpha {bt_alpha}); scores on the Elo scale 1000 + 400·θ/ln 10; "
        "95% CI: percentile bootstrap over votes ({bootstrap} resamples, seed {seed}); ties and "
        "both-bad count half a win each side."
    ).format(**s)
    out.tables.append(_table(spec, "arena", spec.title + " — arena", ARENA_COLUMNS, arena_blocks,
                             [bt_line, *arena_lines], out.missing))  # fmt: skip
    out.tables.append(_table(spec, "pairs", spec.title + " — pairwise tests", PAIR_COLUMNS, pair_blocks,
                             [f"{SIG_MARK} Holm-adjusted p < 0.05 (exact binomial test on the decisive votes of the pair)."], []))  # fmt: skip
    matrix_columns = [_column(f"vs{i}", f"vs {label}", 3) for i, label in enumerate(labels_for_matrix)]
    out.tables.append(_table(spec, "win-rates", spec.title + " — win rate of the row model over the column model",
                             matrix_columns, matrix_blocks, ["Ties and both-bad count half."], []))  # fmt: skip
    lex = "; ".join(f"{k}: {v}" for k, v in LEXICON_VERSION.items())
    ref_label = next((r.label for r in spec.rows if r.id == spec.reference), None)
    sig = [f"{SIG_MARK} p < {spec.alpha:g} against {ref_label} (paired t-test over the shared records)."] if ref_label else []
    out.tables.append(_table(spec, "alignment", spec.title + " — alignment with the teacher (per explanation)",
                             align_columns, align_blocks, [*align_lines, f"Lexicons: {lex}.", *sig, *spec.notes], []))  # fmt: skip
    return out
