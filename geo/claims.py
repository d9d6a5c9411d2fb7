"""Claims, not one status: what a report states as done (fact) and what it promises (target).

A work report's review part says what happened last year; its tasks part says what the
city promises for this year.  Each mention therefore gets

* ``claim`` — ``fact`` (stated as done or under way), ``target`` (this year's goal) or
  ``none`` (no construction claim: the verb names no step);
* ``stage`` — the step the verb names (``completed | under_construction | started |
  planning | other``; the mention's ``status``);
* ``year`` — the year the claim is about (review: report year − 1; tasks: report year).

Per project and report, :func:`project_claims` derives ``stage_at_report`` (what was true
when the report was delivered, from facts; from a target alone it is inferred and marked
``stage_inferred``), ``target`` (``complete | start | advance | plan | none``) and
``target_year``.  The field the map and the QGIS styles draw, ``status``, becomes a
display category from these two (:func:`display_status`), so a target is never drawn
as a completion.  Vocabulary lives in ``geo/resources/claims.json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from . import resources

CLAIMS: tuple[str, ...] = ("fact", "target", "none")
TARGETS: tuple[str, ...] = ("complete", "start", "advance", "plan", "none")


def vocabulary() -> dict:
    """The claim vocabulary (``geo/resources/claims.json``)."""
    return resources.load("claims")


# ----------------------------------------------------------------------------- report year


def find_report_year(document, text: str) -> tuple[int | None, str]:
    """The year a report is for, and how it was found (``heading``, ``text`` or ``""``).

    Part headings first (``2024年主要目标任务``; ``2023年工作回顾`` + 1), then the text
    patterns of ``claims.json`` (``今年是…2024``, ``过去一年`` …) in the first part of
    the text.  Returns ``(None, "")`` when nothing says it."""
    for part in getattr(document, "parts", []):
        title = getattr(part, "title", "") or ""
        for item in vocabulary()["report_year_patterns"]:
            m = re.search(item["pattern"], title)
            if m:
                return int(m.group("y")) + int(item["offset"]), "heading"
    opening = re.compile(vocabulary()["part_opening_pattern"])
    for part in getattr(document, "parts", []):
        role = getattr(part, "role", "")
        if role not in ("review", "tasks"):
            continue
        body = text[part.start:part.start + 400].split("\n", 1)[-1].lstrip()
        m = opening.match(body)
        if m:
            return int(m.group("y")) + (1 if role == "review" else 0), "text"
    head = text[:6000]
    for item in vocabulary()["report_year_patterns"]:
        m = re.search(item["pattern"], head)
        if m:
            return int(m.group("y")) + int(item["offset"]), "text"
    return None, ""


# ----------------------------------------------------------------------------- mentions


def mention_claim(part: str, stage: str, quote: str) -> str:
    """``fact``, ``target`` or ``none`` for one mention (see module docstring).

    A stage-less mention (``other``) makes no claim.  Otherwise the part decides
    (review → fact, tasks → target), unless the sentence carries an explicit marker
    (``已建成`` in the tasks part is a fact; ``力争`` in the review is a target).
    Mentions outside both parts are facts (forewords and five-year reviews report)."""
    if stage == "other":
        return "none"
    vocab = vocabulary()
    quote = quote or ""
    if part == "tasks":
        return "fact" if any(w in quote for w in vocab["fact_markers"]) else "target"
    if part == "review" and any(w in quote for w in vocab["target_markers"]) \
            and not any(w in quote for w in vocab["fact_markers"]):
        return "target" if _promise_for_next_year(quote) else "fact"
    return "fact"


def _promise_for_next_year(quote: str) -> bool:
    """A review sentence promising something is a target only when it says so for
    the coming year (明年/今年); 力争 about last year's effort stays a fact."""
    return any(w in quote for w in ("明年", "今年", "下一步"))


def _target_stage(status: str, quote: str, name: str) -> str:
    """The step a mention names: its verb's status, or ``completed`` when a completion
    deadline (``年内完工``, claims.json) follows the name in its sentence."""
    quote = quote or ""
    at = quote.find(name)
    if at < 0 or status == "other":
        return status
    tail = quote[at + len(name):].lstrip("，,、 ")
    # only a deadline right after the name: 实施X，年内完工 (not 开工建设Y，实施X，年内完工)
    if any(tail.startswith(w) for w in vocabulary()["completion_markers"]):
        return "completed"
    return status


def add_claims(mentions: pd.DataFrame, report_year: int | None) -> pd.DataFrame:
    """Add ``claim``, ``stage`` and (re)set ``year`` of every mention."""
    mentions = mentions.copy()
    mentions["stage"] = [_target_stage(s, q, n) for s, q, n in
                         zip(mentions["status"], mentions["quote"], mentions["name"],
                             strict=True)]
    mentions["claim"] = [mention_claim(p, s, q) for p, s, q in
                         zip(mentions["part"], mentions["stage"], mentions["quote"], strict=True)]
    # a completion deadline (实施X，年内完工) sets the step only of what is promised
    mentions["stage"] = mentions["stage"].where(
        (mentions["claim"] == "target") | (mentions["stage"] == mentions["status"]),
        mentions["status"])
    if report_year is not None:
        years = [report_year if claim == "target" or part == "tasks" else report_year - 1
                 for claim, part in zip(mentions["claim"], mentions["part"], strict=True)]
        mentions["year"] = pd.array(years, dtype="Int64")
    return mentions


# ----------------------------------------------------------------------------- projects


def _rank(stage: str) -> int:
    return int(vocabulary()["stage_rank"].get(stage, 0))


def project_claims(members: Iterable[dict], report_year: int | None) -> dict:
    """``stage_at_report``, ``stage_inferred``, ``fact_year``, ``target``, ``target_year``
    of one project from its mentions in one report (dicts with claim, stage, year)."""
    members = list(members)
    vocab = vocabulary()
    facts = [m for m in members if m["claim"] == "fact"]
    targets = [m for m in members if m["claim"] == "target"]
    target, target_year = "none", None
    if targets:
        best = max(targets, key=lambda m: _rank(m["stage"]))
        target = vocab["target_of_stage"].get(best["stage"], "none")
        target_year = _int(best.get("year")) or report_year
    implied = vocab["stage_of_target"].get(target, "other")
    if facts:
        best = max(facts, key=lambda m: (_int(m.get("year")) or 0, _rank(m["stage"])))
        # A target can only tell more than a fact when the fact is an earlier step
        # (开工 last year, 加快建设 this year: under construction now) — marked inferred.
        later = _rank(implied) > _rank(best["stage"]) and best["stage"] != "completed"
        return {"stage_at_report": implied if later else best["stage"],
                "stage_inferred": later, "fact_year": _int(best.get("year")),
                "target": target, "target_year": target_year}
    return {"stage_at_report": implied, "stage_inferred": target != "none", "fact_year": None,
            "target": target, "target_year": target_year}


def display_status(stage_at_report: str, target: str) -> str:
    """The category a project is drawn in: completed only from a fact; a target to
    complete (start) a project not yet completed (started) is ``to_complete``
    (``to_start``); otherwise the stage when the report was delivered."""
    if stage_at_report == "completed":
        return "completed"
    shown = vocabulary()["display"].get(target)
    if shown == "to_start" and _rank(stage_at_report) >= _rank("started"):
        return stage_at_report
    return shown or stage_at_report


def timeline_text(members: Iterable[dict]) -> str:
    """``2023：加快推进 → 2024 目标：建成通车``: each claim with its year, in year order."""
    seen: list[str] = []
    ordered = sorted(members, key=lambda m: (_int(m.get("year")) or 0,
                                             m["claim"] == "target", m.get("start") or 0))
    for m in ordered:
        if m["claim"] == "none":
            continue
        year = _int(m.get("year"))
        label = f"{year or ''}{' 目标' if m['claim'] == 'target' else ''}"
        item = f"{label}：{m.get('status_phrase') or m['stage']}"
        if item not in seen:
            seen.append(item)
    return " → ".join(seen)


#: One item of :func:`timeline_text`: ``2024 目标：建成通车`` -> year, target?, phrase.
_TIMELINE_ITEM = re.compile(r"^(\d{4})?( 目标)?：(.+)$")


def timeline_items(text: str) -> list[tuple[int | None, bool, str]]:
    """The inverse of :func:`timeline_text`: ``(year, is_target, phrase)`` per item, so
    a reader (the web map in English) can label years and targets in its own language
    while the phrases stay the report's words.  Text not in that form gives ``[]``."""
    items = []
    for part in (text or "").split(" → "):
        match = _TIMELINE_ITEM.match(part)
        if match is None:
            return []
        year, target, phrase = match.groups()
        items.append((int(year) if year else None, bool(target), phrase))
    return items


def _latest_year(members: list[dict], report_year: int | None) -> int | None:
    """The latest year any mention of the project is about (for claim-less projects)."""
    years = [y for y in (_int(m.get("year")) for m in members) if y is not None]
    return max(years) if years else report_year


def _int(value) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return int(value)


def apply_claims(projects: pd.DataFrame, mentions: pd.DataFrame,
                 report_year: int | None) -> pd.DataFrame:
    """Set each project's claim fields and its display ``status`` from its mentions
    (a merged project's mentions count for its survivor as well as for itself).

    ``status_year`` becomes the year of the fact behind the stage, or the target's year
    when the stage is inferred; ``status_phrase`` the project's timeline."""
    projects = projects.copy()
    survivor = dict(zip(projects["project_id"], projects["merged_into"], strict=True)) \
        if "merged_into" in projects.columns else {}
    groups: dict[str, list[dict]] = {}
    for record in mentions.to_dict("records"):
        pid = record["project_id"]
        groups.setdefault(pid, []).append(record)
        if survivor.get(pid):
            groups.setdefault(survivor[pid], []).append(record)
    rows = []
    for pid in projects["project_id"]:
        members = groups.get(pid, [])
        c = project_claims(members, report_year)
        c["status"] = display_status(c["stage_at_report"], c["target"])
        c["status_year"] = next((y for y in (c["fact_year"], c["target_year"],
                                             _latest_year(members, report_year))
                                 if y is not None), None)
        c["status_phrase"] = timeline_text(members)
        rows.append(c)
    frame = pd.DataFrame(rows, index=projects.index)
    for column in ("stage_at_report", "stage_inferred", "target", "status", "status_phrase"):
        projects[column] = frame[column] if len(frame) else pd.Series(dtype=object)
    projects["promise_outcome"] = ""  # set by the tracker (geo.tracker) once promises exist
    for column in ("target_year", "status_year"):
        projects[column] = pd.array(frame[column] if len(frame) else [], dtype="Int64")
    return projects


def resolve_report_year(document, text: str, source, override: int | None = None
                        ) -> tuple[int | None, str]:
    """The report year to use and a warning ('' if none): ``override`` (``--year``) wins;
    otherwise :func:`find_report_year`; a report whose year cannot be read is warned
    about by name (its claims then carry no year)."""
    if override is not None:
        return int(override), ""
    year, _how = find_report_year(document, text)
    if year is None:
        return None, (f"{source}: the report's year cannot be read (no heading such as "
                      "2024年主要目标任务 or 2023年工作回顾); pass --year YYYY")
    return year, ""
