"""Compare extracted project mentions with a hand-made gold annotation.

A gold file is a CSV with the columns :data:`GOLD_COLUMNS` (see
``tests/data/GOLD_GUIDELINES.md`` for the annotation rules).  Predicted mentions
are a frame with the columns of :data:`geo.schema.MENTIONS` (only ``name``,
``kind``, ``status``, ``part``, ``section``, ``start`` and ``end`` are used).

Matching is one-to-one and greedy, in two rounds:

1. *span* — a prediction and a gold mention whose ``[start, end)`` spans overlap
   match; pairs whose spans agree best (intersection over union) are taken first.
2. *name* — among what is left, a prediction and a gold mention in the same part
   and section match when their normalised names (:func:`normalise_name`) are
   equal or one contains the other; equal names first, then the closest offsets.

Ties are broken by offsets, so the result does not depend on row order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import GoldError
from .schema import KINDS, PARTS, STATUSES

#: Columns of a gold CSV.
GOLD_COLUMNS: list[str] = ["name", "kind", "status", "part", "section", "start", "end", "note"]

#: Columns used from a predicted mentions frame.
PRED_COLUMNS: list[str] = ["name", "kind", "status", "part", "section", "start", "end"]

_SECTION_RE = re.compile(r"^[一二三四五六七八九十]*$")
_DASHES = str.maketrans({"–": "—", "-": "—", "－": "—", "―": "—"})
_PREFIXES = ("宁波市", "宁波", "市")
_SUFFIXES = ("项目", "工程")



@dataclass
class Evaluation:
    """Figures and row-level differences of one comparison."""

    n_pred: int
    n_gold: int
    true_pos: int
    precision: float
    recall: float
    f1: float
    status_accuracy: float
    section_accuracy: float
    kind_accuracy: float
    misses: pd.DataFrame = field(repr=False)
    false_positives: pd.DataFrame = field(repr=False)
    status_errors: pd.DataFrame = field(repr=False)
    matches: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def normalise_name(name: object) -> str:
    """Return the comparison key of a project name.

    NFKC, whitespace removed, dashes unified to ``—``, the city prefix
    (宁波市/宁波/市) and ``（暂名）`` dropped, trailing 项目/工程 dropped (repeatedly).
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"\s+", "", text).translate(_DASHES)
    text = text.replace("(暂名)", "")
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
            break
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text


def _clean_section(value: object) -> str:
    """Section as a string ('' for missing values)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _prepare(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Copy ``frame`` with the used columns typed; raise if a column is missing."""
    missing = [c for c in PRED_COLUMNS if c not in frame.columns]
    if missing:
        raise GoldError(f"{label} mentions lack columns {missing}",
                        fix=f"give the {label} table the columns {PRED_COLUMNS}")
    out = frame.reset_index(drop=True).copy()
    for col in ("name", "kind", "status", "part"):
        out[col] = out[col].fillna("").astype(str)
    out["section"] = out["section"].map(_clean_section)
    out["start"] = out["start"].astype(int)
    out["end"] = out["end"].astype(int)
    out["key"] = out["name"].map(normalise_name)
    return out


def load_gold(path: str | Path) -> pd.DataFrame:
    """Read a gold CSV, check its columns and values, return it in document order.

    Raises :class:`GoldError` naming the file and line of the first bad row.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise GoldError("gold file not found", path=path,
                        fix="pass the path of a gold CSV, e.g. tests/data/ningbo_2024_gold.csv"
                        ) from exc
    missing = [c for c in GOLD_COLUMNS if c not in frame.columns]
    if missing:
        raise GoldError(f"gold file lacks columns {missing}", path=path, line=1,
                        fix=f"the header must be {','.join(GOLD_COLUMNS)}")
    for i, row in frame.iterrows():
        problem = _row_problem(row)
        if problem:
            raise GoldError(problem, path=path, line=int(i) + 2,
                            fix="correct the row (see tests/data/GOLD_GUIDELINES.md)")
    frame["start"] = frame["start"].astype(int)
    frame["end"] = frame["end"].astype(int)
    return frame.sort_values(["start", "end"], kind="stable").reset_index(drop=True)


def load_predicted(path: str | Path) -> pd.DataFrame:
    """Read a mentions CSV written by the pipeline (sections stay strings, '' if empty)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as exc:
        raise GoldError("mentions file not found", path=path,
                        fix="run the extraction first or pass the path of mentions.csv") from exc
    missing = [c for c in PRED_COLUMNS if c not in frame.columns]
    if missing:
        raise GoldError(f"mentions file lacks columns {missing}", path=path, line=1,
                        fix=f"the file needs the columns {PRED_COLUMNS}")
    bad = ~(frame["start"].str.isdigit() & frame["end"].str.isdigit())
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise GoldError("start/end are not non-negative integers", path=path, line=line,
                        fix="write character offsets as integers")
    frame["start"] = frame["start"].astype(int)
    frame["end"] = frame["end"].astype(int)
    return frame


def evaluate_files(mentions_path: str | Path, gold_path: str | Path) -> Evaluation:
    """Evaluate a mentions CSV against a gold CSV (what ``geo evaluate`` runs)."""
    return evaluate(load_predicted(mentions_path), load_gold(gold_path))


def _row_problem(row: pd.Series) -> str:
    """Describe what is wrong with one gold row, or return ''."""
    if not row["name"].strip():
        return "empty name"
    if row["kind"] not in KINDS:
        return f"unknown kind {row['kind']!r} (expected one of {', '.join(KINDS)})"
    if row["status"] not in STATUSES:
        return f"unknown status {row['status']!r} (expected one of {', '.join(STATUSES)})"
    if row["part"] not in PARTS:
        return f"unknown part {row['part']!r} (expected one of {', '.join(PARTS)})"
    if not _SECTION_RE.match(row["section"]):
        return f"section {row['section']!r} is not a Chinese ordinal"
    if not (row["start"].isdigit() and row["end"].isdigit()):
        return f"offsets {row['start']!r}, {row['end']!r} are not non-negative integers"
    if int(row["end"]) <= int(row["start"]):
        return f"end {row['end']} is not after start {row['start']}"
    return ""


def check_gold_text(gold: pd.DataFrame, text: str) -> list[str]:
    """List problems of ``gold`` against the report ``text`` (empty list: consistent).

    Checks that spans lie inside the text, do not overlap, and are in document order.
    """
    problems: list[str] = []
    previous_end = -1
    for i, row in gold.iterrows():
        start, end = int(row["start"]), int(row["end"])
        if end > len(text):
            problems.append(f"row {i}: span {start}-{end} beyond text length {len(text)}")
        if start < previous_end:
            problems.append(f"row {i}: span {start}-{end} overlaps or precedes the previous one")
        previous_end = max(previous_end, end)
    return problems


def _span_pairs(pred: pd.DataFrame, gold: pd.DataFrame) -> list[tuple[tuple, int, int]]:
    """Candidate (sort key, pred index, gold index) pairs whose spans overlap."""
    pairs = []
    for gi, g in gold.iterrows():
        overlap = (pred["start"] < g["end"]) & (pred["end"] > g["start"])
        for pi in pred.index[overlap]:
            p = pred.loc[pi]
            inter = min(p["end"], g["end"]) - max(p["start"], g["start"])
            union = max(p["end"], g["end"]) - min(p["start"], g["start"])
            key = (-inter / union, abs(p["start"] - g["start"]), g["start"], p["start"])
            pairs.append((key, pi, gi))
    return pairs


def _name_pairs(pred: pd.DataFrame, gold: pd.DataFrame) -> list[tuple[tuple, int, int]]:
    """Candidate pairs in the same part and section with equal or nested names."""
    pairs = []
    for gi, g in gold.iterrows():
        same = (pred["part"] == g["part"]) & (pred["section"] == g["section"])
        for pi in pred.index[same]:
            p = pred.loc[pi]
            if not p["key"] or not g["key"]:
                continue
            if p["key"] == g["key"]:
                rank = 0
            elif p["key"] in g["key"] or g["key"] in p["key"]:
                rank = 1
            else:
                continue
            pairs.append(((rank, abs(p["start"] - g["start"]), g["start"], p["start"]), pi, gi))
    return pairs


def _greedy(pairs: list[tuple[tuple, int, int]], used_p: set, used_g: set, rule: str,
            out: list[tuple[int, int, str]]) -> None:
    """Take pairs best-first, skipping rows already matched (one-to-one)."""
    for _, pi, gi in sorted(pairs, key=lambda item: item[0]):
        if pi in used_p or gi in used_g:
            continue
        used_p.add(pi)
        used_g.add(gi)
        out.append((pi, gi, rule))


def match(pred: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """Return matched pairs as a frame (pred_index, gold_index, rule), in gold order.

    Both frames must already be prepared (typed, with a ``key`` column).
    """
    used_p: set = set()
    used_g: set = set()
    found: list[tuple[int, int, str]] = []
    _greedy(_span_pairs(pred, gold), used_p, used_g, "span", found)
    rest_p = pred.drop(index=list(used_p))
    rest_g = gold.drop(index=list(used_g))
    _greedy(_name_pairs(rest_p, rest_g), used_p, used_g, "name", found)
    frame = pd.DataFrame(found, columns=["pred_index", "gold_index", "rule"])
    return frame.sort_values(["gold_index", "pred_index"]).reset_index(drop=True)


def _ratio(numerator: int, denominator: int) -> float:
    """numerator/denominator, or NaN when the denominator is 0."""
    return numerator / denominator if denominator else float("nan")


def _pair_table(pairs: pd.DataFrame, pred: pd.DataFrame, gold: pd.DataFrame) -> pd.DataFrame:
    """One row per matched pair with gold and predicted values side by side."""
    g = gold.loc[pairs["gold_index"], ["name", "kind", "status", "part", "section",
                                       "start", "end"]].reset_index(drop=True)
    p = pred.loc[pairs["pred_index"], ["name", "kind", "status", "part", "section",
                                       "start", "end"]].reset_index(drop=True)
    table = g.join(p.add_prefix("pred_"))
    table["rule"] = pairs["rule"].to_numpy()
    return table


def evaluate(predicted: pd.DataFrame, gold: pd.DataFrame) -> Evaluation:
    """Compare ``predicted`` mentions with ``gold`` mentions (see module docstring)."""
    pred = _prepare(predicted, "predicted")
    gld = _prepare(gold, "gold")
    pairs = match(pred, gld)
    table = _pair_table(pairs, pred, gld)
    tp = len(pairs)
    precision = tp / len(pred) if len(pred) else 0.0
    recall = tp / len(gld) if len(gld) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    status_ok = table["status"] == table["pred_status"]
    section_ok = (table["part"] == table["pred_part"]) & (
        table["section"] == table["pred_section"])
    kind_ok = table["kind"] == table["pred_kind"]
    columns = ["name", "kind", "status", "part", "section", "start", "end"]
    return Evaluation(
        n_pred=len(pred), n_gold=len(gld), true_pos=tp,
        precision=precision, recall=recall, f1=f1,
        status_accuracy=_ratio(int(status_ok.sum()), tp),
        section_accuracy=_ratio(int(section_ok.sum()), tp),
        kind_accuracy=_ratio(int(kind_ok.sum()), tp),
        misses=gld.drop(index=pairs["gold_index"])[columns].reset_index(drop=True),
        false_positives=pred.drop(index=pairs["pred_index"])[columns]
        .sort_values(["start", "end"], kind="stable").reset_index(drop=True),
        status_errors=table[~status_ok].reset_index(drop=True),
        matches=table,
    )


def _figure(value: float) -> str:
    """Format a ratio as a percentage, 'n/a' for NaN."""
    return "n/a" if math.isnan(value) else f"{100 * value:.1f}%"


def _rows(frame: pd.DataFrame, max_rows: int, extra: str = "") -> list[str]:
    """Lines listing rows: name [part/section] start-end (+ an optional extra column)."""
    lines = []
    for _, row in frame.head(max_rows).iterrows():
        where = f"{row['part']}/{row['section'] or '-'}"
        line = f"  {row['name']}  [{where}]  {row['start']}-{row['end']}"
        if extra:
            line += f"  {extra.format(**row)}"
        lines.append(line)
    if len(frame) > max_rows:
        lines.append(f"  … and {len(frame) - max_rows} more")
    return lines


def format_evaluation(ev: Evaluation, max_rows: int = 50) -> str:
    """A plain-text report: the figures, then misses, false positives and status errors."""
    lines = [
        f"predicted {ev.n_pred}, gold {ev.n_gold}, matched {ev.true_pos}",
        f"precision {_figure(ev.precision)}  recall {_figure(ev.recall)}  f1 {_figure(ev.f1)}",
        f"status accuracy {_figure(ev.status_accuracy)}  "
        f"section accuracy {_figure(ev.section_accuracy)}  "
        f"kind accuracy {_figure(ev.kind_accuracy)}  (over matched mentions)",
        "",
        f"misses ({len(ev.misses)}): gold mentions not found",
        *_rows(ev.misses, max_rows, "{status}"),
        "",
        f"false positives ({len(ev.false_positives)}): predictions matching no gold mention",
        *_rows(ev.false_positives, max_rows, "{status}"),
        "",
        f"status errors ({len(ev.status_errors)}): gold status -> predicted status",
        *_rows(ev.status_errors, max_rows, "{status} -> {pred_status}  (predicted {pred_name})"),
    ]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- series

#: Gold columns of a series' stages (one row per project, report and claim) and promises.
GOLD_STAGES_COLUMNS: list[str] = ["report_year", "name", "claim", "stage"]
GOLD_PROMISES_COLUMNS: list[str] = ["promised_in", "name", "promise", "outcome"]


@dataclass
class SeriesEvaluation:
    """Accuracy of one tracker table against its gold: ``what`` is ``stage`` or
    ``outcome``; a gold row with no predicted row counts as wrong."""

    what: str
    n_gold: int
    n_pred: int
    matched: int
    correct: int
    accuracy: float
    errors: list[tuple] = field(default_factory=list)
    extra: list[tuple] = field(default_factory=list)


def _same_name(a: str, b: str) -> bool:
    from .resolve import project_key
    from .tracker import _comparable, same_project

    ka = {project_key(a), _comparable(project_key(a))}
    kb = {project_key(b), _comparable(project_key(b))}
    if ka & kb or any(same_project(x, y) for x in ka for y in kb):
        return True
    # as for mentions (see match): one name containing the other is the same annotation
    # with a different boundary (瓯江航道 / 瓯江航道整治工程)
    short, long = sorted((normalise_name(a), normalise_name(b)), key=len)
    return len(short) >= 4 and short in long


def evaluate_series(predicted: pd.DataFrame, gold: pd.DataFrame) -> SeriesEvaluation:
    """Score ``stages.csv`` or ``promises.csv`` against a gold file of the same kind.

    Rows are matched one to one within the same year (and claim, for stages) by name:
    equal project keys, or names :func:`geo.tracker.same_project` joins.  Exact names
    are matched first."""
    stages = "claim" in gold.columns
    year_col = "report_year" if stages else "promised_in"
    value = "stage" if stages else "outcome"
    group = [year_col, "claim"] if stages else [year_col]
    missing = [c for c in (GOLD_STAGES_COLUMNS if stages else GOLD_PROMISES_COLUMNS)
               if c not in gold.columns or c not in predicted.columns]
    if missing:
        raise GoldError(f"columns {missing} missing from the gold or predicted table",
                        fix="compare stages.csv with a stages gold, promises.csv with a "
                            "promises gold")
    used: set[int] = set()
    pairs: dict[int, int] = {}
    for exact in (True, False):
        for gi, g in gold.iterrows():
            if gi in pairs:
                continue
            same = predicted
            for c in group:
                same = same[same[c].astype(str) == str(g[c])]
            for pi, p in same.iterrows():
                if pi in used:
                    continue
                if (p["name"] == g["name"]) if exact else _same_name(p["name"], g["name"]):
                    pairs[gi] = pi
                    used.add(pi)
                    break
    correct, errors = 0, []
    for gi, g in gold.iterrows():
        pi = pairs.get(gi)
        got = predicted.loc[pi, value] if pi is not None else "(missing)"
        if got == g[value]:
            correct += 1
        else:
            errors.append((*(g[c] for c in group), g["name"], g[value], got))
    extra = [tuple(predicted.loc[pi, [*group, "name", value]]) for pi in predicted.index
             if pi not in used and not (stages and predicted.loc[pi, "claim"] == "none")]
    return SeriesEvaluation(value, len(gold), len(predicted), len(pairs), correct,
                            _ratio(correct, len(gold)), errors, extra)


def evaluate_series_files(predicted_path: str | Path, gold_path: str | Path) -> SeriesEvaluation:
    """Evaluate a series table (stages.csv / promises.csv) against its gold CSV."""
    for path in (predicted_path, gold_path):
        if not Path(path).exists():
            raise GoldError("file not found", path=path, fix="check the path")
    return evaluate_series(pd.read_csv(predicted_path, dtype=str, keep_default_na=False),
                           pd.read_csv(gold_path, dtype=str, keep_default_na=False))


def is_series_gold(path: str | Path) -> bool:
    """Whether a gold CSV is a series gold (stages or promises), by its header."""
    with open(path, encoding="utf-8") as handle:
        header = handle.readline()
    return "outcome" in header or ("claim" in header and "start" not in header)


def format_series_evaluation(ev: SeriesEvaluation, max_rows: int = 50) -> str:
    """A short report: accuracy, then each wrong gold row and each unmatched prediction."""
    lines = [f"{ev.what} accuracy: {_figure(ev.accuracy)} ({ev.correct}/{ev.n_gold} gold rows; "
             f"{ev.matched} matched, {ev.n_pred} predicted)"]
    for row in ev.errors[:max_rows]:
        lines.append("  wrong: " + " | ".join(str(x) for x in row[:-2]) +
                     f" | gold {row[-2]} | got {row[-1]}")
    for row in ev.extra[:max_rows]:
        lines.append("  extra: " + " | ".join(str(x) for x in row))
    return "\n".join(lines)
