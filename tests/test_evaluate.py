"""Tests of geo.evaluate and of the hand-made gold files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from geo.evaluate import (
    GOLD_COLUMNS,
    GoldError,
    check_gold_text,
    evaluate,
    evaluate_files,
    format_evaluation,
    load_gold,
    load_predicted,
    normalise_name,
)
from geo.schema import KINDS, PARTS, STATUSES

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
GOLD_FILES = [
    (ROOT / "data" / "raw" / "ningbo_2024.txt", DATA / "ningbo_2024_gold.csv"),
    (DATA / "wenzhou_sample.txt", DATA / "wenzhou_sample_gold.csv"),
]


def frame(*rows: tuple) -> pd.DataFrame:
    """Mentions frame from (name, start, end[, status[, section[, kind[, part]]]]) tuples."""
    records = []
    for row in rows:
        name, start, end, status, section, kind, part = (
            *row, *("completed", "一", "road", "tasks")[len(row) - 3:])
        records.append(dict(name=name, kind=kind, status=status, part=part,
                            section=section, start=start, end=end))
    return pd.DataFrame(records, columns=["name", "kind", "status", "part", "section",
                                          "start", "end"])


# --- normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("raw, key", [
    ("宁波市疾病预防控制中心", "疾病预防控制中心"),
    ("市少儿图书馆", "少儿图书馆"),
    ("宁波东方理工大学（暂名）", "东方理工大学"),
    ("宁波北部综合保供基地项目", "北部综合保供基地"),
    ("宁波枢纽空铁一体主体工程项目", "枢纽空铁一体主体"),
    ("梅山6-10号集装箱码头", "梅山6—10号集装箱码头"),
    ("梅山6－10号集装箱码头", "梅山6—10号集装箱码头"),
    ("Ｇ228余慈段", "G228余慈段"),
    ("市", "市"),
])
def test_normalise_name(raw: str, key: str) -> None:
    assert normalise_name(raw) == key


# --- matching ------------------------------------------------------------------------

def test_overlapping_spans_match_even_with_different_names() -> None:
    gold = frame(("轨道交通6号线", 10, 15))
    pred = frame(("轨道交通6、7、8号线", 10, 21))
    ev = evaluate(pred, gold)
    assert (ev.true_pos, ev.precision, ev.recall, ev.f1) == (1, 1.0, 1.0, 1.0)
    assert ev.matches.loc[0, "rule"] == "span"


def test_touching_spans_do_not_overlap() -> None:
    gold = frame(("甲大道", 10, 13))
    pred = frame(("乙大道", 13, 16))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 0
    assert list(ev.misses["name"]) == ["甲大道"]
    assert list(ev.false_positives["name"]) == ["乙大道"]


def test_name_containment_matches_within_same_section() -> None:
    gold = frame(("市医疗中心李惠利医院原地改扩建项目", 100, 117))
    pred = frame(("李惠利医院", 300, 305))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 1
    assert ev.matches.loc[0, "rule"] == "name"


def test_name_match_after_normalisation() -> None:
    gold = frame(("宁波东方理工大学（暂名）", 100, 112))
    pred = frame(("东方理工大学(暂名)", 500, 510))
    assert evaluate(pred, gold).true_pos == 1


def test_names_do_not_match_across_sections_or_parts() -> None:
    gold = frame(("甬舟铁路", 100, 104, "completed", "五", "rail", "review"))
    other_section = frame(("甬舟铁路", 900, 904, "completed", "四", "rail", "review"))
    other_part = frame(("甬舟铁路", 900, 904, "completed", "五", "rail", "tasks"))
    assert evaluate(other_section, gold).true_pos == 0
    assert evaluate(other_part, gold).true_pos == 0


def test_unrelated_names_in_same_section_do_not_match() -> None:
    gold = frame(("清溪水库", 100, 104))
    pred = frame(("柏坑水库", 200, 204))
    assert evaluate(pred, gold).true_pos == 0


def test_matching_is_one_to_one() -> None:
    gold = frame(("甬舟铁路", 100, 104))
    pred = frame(("甬舟铁路", 100, 104), ("甬舟铁路", 102, 106), ("甬舟铁路", 700, 704))
    ev = evaluate(pred, gold)
    assert (ev.n_pred, ev.n_gold, ev.true_pos) == (3, 1, 1)
    assert ev.precision == pytest.approx(1 / 3)
    assert len(ev.false_positives) == 2
    # the exact span wins over the partial overlap and the name-only candidate
    assert ev.matches.loc[0, "pred_start"] == 100


def test_greedy_prefers_best_agreeing_spans() -> None:
    gold = frame(("甲大道快速路", 0, 6), ("乙路", 7, 9))
    pred = frame(("甲大道快速路", 0, 6), ("快速路、乙路", 3, 9))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 2
    pairs = dict(zip(ev.matches["name"], ev.matches["pred_name"], strict=True))
    assert pairs == {"甲大道快速路": "甲大道快速路", "乙路": "快速路、乙路"}


def test_name_round_prefers_equal_names_then_nearest() -> None:
    gold = frame(("九龙大道", 100, 104), ("九龙大道快速路", 400, 407))
    pred = frame(("九龙大道", 380, 384), ("九龙大道", 900, 904))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 2
    pairs = dict(zip(ev.matches["start"], ev.matches["pred_start"], strict=True))
    # equal names first: gold 100 takes the nearest exact-name prediction (380);
    # the contained name then pairs with what is left
    assert pairs == {100: 380, 400: 900}


def test_result_does_not_depend_on_row_order() -> None:
    gold = frame(("甲路", 0, 2), ("乙路", 5, 7), ("丙路", 10, 12))
    pred = frame(("甲路", 0, 2), ("乙路", 30, 32), ("丁路", 40, 42))
    ev1 = evaluate(pred, gold)
    ev2 = evaluate(pred.iloc[::-1], gold.iloc[::-1])
    assert ev1.true_pos == ev2.true_pos == 2
    assert format_evaluation(ev1) == format_evaluation(ev2)


def test_status_section_and_kind_accuracy_over_matched() -> None:
    gold = frame(("甲路", 0, 2, "completed", "一", "road"),
                 ("乙路", 5, 7, "started", "一", "road"),
                 ("丙港", 10, 12, "planning", "二", "port_terminal"),
                 ("丁馆", 20, 22, "other", "二", "culture"))
    pred = frame(("甲路", 0, 2, "completed", "一", "road"),
                 ("乙路", 5, 7, "under_construction", "一", "road"),
                 ("丙港", 10, 12, "planning", "三", "other"))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 3
    assert ev.recall == pytest.approx(0.75)
    assert ev.status_accuracy == pytest.approx(2 / 3)
    assert ev.section_accuracy == pytest.approx(2 / 3)
    assert ev.kind_accuracy == pytest.approx(2 / 3)
    assert list(ev.status_errors["name"]) == ["乙路"]
    assert ev.status_errors.loc[0, "pred_status"] == "under_construction"
    assert list(ev.misses["name"]) == ["丁馆"]


def test_section_accuracy_needs_part_too() -> None:
    gold = frame(("甲路", 0, 2, "completed", "一", "road", "review"))
    pred = frame(("甲路", 0, 2, "completed", "一", "road", "tasks"))
    assert evaluate(pred, gold).section_accuracy == 0.0


def test_missing_sections_compare_as_empty() -> None:
    gold = frame(("甲路", 0, 2, "completed", ""))
    pred = frame(("甲路", 50, 52, "completed", None))
    ev = evaluate(pred, gold)
    assert ev.true_pos == 1 and ev.section_accuracy == 1.0


def test_empty_prediction() -> None:
    gold = frame(("甲路", 0, 2))
    ev = evaluate(frame(), gold)
    assert (ev.true_pos, ev.precision, ev.recall, ev.f1) == (0, 0.0, 0.0, 0.0)
    assert math.isnan(ev.status_accuracy)
    assert "n/a" in format_evaluation(ev)


def test_missing_prediction_column_is_reported() -> None:
    with pytest.raises(GoldError, match="status"):
        evaluate(frame(("甲路", 0, 2)).drop(columns="status"), frame(("甲路", 0, 2)))


def test_format_lists_differences() -> None:
    gold = frame(("甲路", 0, 2, "completed"), ("乙桥", 5, 7, "started", "二"))
    pred = frame(("甲路", 0, 2, "planning"), ("丙隧道", 30, 33))
    text = format_evaluation(evaluate(pred, gold), max_rows=5)
    assert "precision 50.0%" in text and "recall 50.0%" in text
    assert "乙桥  [tasks/二]  5-7" in text
    assert "丙隧道  [tasks/一]  30-33" in text
    assert "completed -> planning" in text


def test_format_truncates_long_lists() -> None:
    gold = frame(*[(f"路{i}", 10 * i, 10 * i + 2) for i in range(8)])
    text = format_evaluation(evaluate(frame(), gold), max_rows=3)
    assert "… and 5 more" in text


# --- load_gold -----------------------------------------------------------------------

def write_gold(tmp_path: Path, rows: list[str]) -> Path:
    """Write a small gold CSV."""
    path = tmp_path / "gold.csv"
    path.write_text("\n".join([",".join(GOLD_COLUMNS), *rows]) + "\n", encoding="utf-8")
    return path


def test_load_gold_reads_types_and_sorts(tmp_path: Path) -> None:
    path = write_gold(tmp_path, ["乙路,road,started,tasks,,9,11,",
                                 "甲路,road,completed,review,一,0,2,x"])
    gold = load_gold(path)
    assert list(gold["name"]) == ["甲路", "乙路"]
    assert gold["start"].dtype.kind == "i"
    assert gold.loc[1, "section"] == ""


@pytest.mark.parametrize("row, message", [
    ("甲路,street,completed,review,一,0,2,", "unknown kind"),
    ("甲路,road,done,review,一,0,2,", "unknown status"),
    ("甲路,road,completed,intro,一,0,2,", "unknown part"),
    ("甲路,road,completed,review,1,0,2,", "not a Chinese ordinal"),
    ("甲路,road,completed,review,一,a,2,", "not non-negative integers"),
    ("甲路,road,completed,review,一,5,5,", "not after start"),
])
def test_load_gold_rejects_bad_rows(tmp_path: Path, row: str, message: str) -> None:
    path = write_gold(tmp_path, ["乙路,road,started,tasks,,9,11,", row])
    with pytest.raises(GoldError, match=message) as info:
        load_gold(path)
    assert "gold.csv:3" in str(info.value)


def test_load_gold_missing_file_and_columns(tmp_path: Path) -> None:
    with pytest.raises(GoldError, match="not found"):
        load_gold(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\n甲路,road\n", encoding="utf-8")
    with pytest.raises(GoldError, match="lacks columns"):
        load_gold(bad)


def test_check_gold_text_finds_overlaps_and_overruns() -> None:
    gold = frame(("甲路", 0, 3), ("乙路", 2, 4), ("丙路", 8, 20))
    problems = check_gold_text(gold, "0123456789")
    assert len(problems) == 2


def test_evaluate_files_reads_mentions_csv(tmp_path: Path) -> None:
    gold = write_gold(tmp_path, ["甲路,road,completed,review,,0,2,",
                                 "乙路,road,started,tasks,一,9,11,"])
    mentions = tmp_path / "mentions.csv"
    mentions.write_text("mention_id,name,kind,status,part,section,start,end,quote\n"
                        "M0001,甲路,road,completed,review,,0,2,q\n", encoding="utf-8")
    ev = evaluate_files(mentions, gold)
    assert (ev.true_pos, ev.section_accuracy) == (1, 1.0)
    assert list(ev.misses["name"]) == ["乙路"]
    mentions.write_text("name,kind,status,part,section,start,end\n甲路,road,x,review,,a,2\n",
                        encoding="utf-8")
    with pytest.raises(GoldError, match="mentions.csv:2"):
        load_predicted(mentions)
    with pytest.raises(GoldError, match="not found"):
        load_predicted(tmp_path / "none.csv")


# --- the gold files ------------------------------------------------------------------

def headings(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(offset, part) of part headings and (offset, ordinal) of （一）-level headings."""
    parts = []
    for m in re.finditer(r"^[一二三四五六七八九十]+、(.*)$", text, re.M):
        title = m.group(1)
        part = ("review" if "回顾" in title
                else "tasks" if re.search(r"目标任务|工作安排|主要任务", title) else "other")
        parts.append((m.start(), part))
    sections = [(m.start(), m.group(1))
                for m in re.finditer(r"^（([一二三四五六七八九十]+)）", text, re.M)]
    return parts, sections


def expected_place(offset: int, parts: list, sections: list) -> tuple[str, str]:
    """Part and section that enclose ``offset`` according to the headings."""
    before = [(s, p) for s, p in parts if s <= offset]
    if not before:
        return "other", ""
    part_start, part = before[-1]
    inside = [no for s, no in sections if part_start <= s <= offset]
    return part, inside[-1] if inside else ""


@pytest.mark.parametrize("text_path, gold_path", GOLD_FILES, ids=["ningbo", "wenzhou"])
def test_gold_file_is_well_formed(text_path: Path, gold_path: Path) -> None:
    text = text_path.read_text("utf-8")
    gold = load_gold(gold_path)
    assert len(gold) >= 40
    assert check_gold_text(gold, text) == []
    assert set(gold["kind"]) <= set(KINDS)
    assert set(gold["status"]) <= set(STATUSES)
    assert set(gold["part"]) <= set(PARTS)
    raw = pd.read_csv(gold_path, dtype=str, keep_default_na=False)
    assert list(raw["start"].astype(int)) == sorted(raw["start"].astype(int)), "document order"
    parts, sections = headings(text)
    for row in gold.itertuples():
        written = text[row.start:row.end]
        assert written and written.strip() == written, row
        assert not re.match(r"[、，。；：,（）]", written[0]), row
        assert written in row.name, f"{row.name!r}: span reads {written!r}"
        assert (row.part, row.section) == expected_place(row.start, parts, sections), row


@pytest.mark.parametrize("text_path, gold_path", GOLD_FILES, ids=["ningbo", "wenzhou"])
def test_gold_matches_itself_perfectly(text_path: Path, gold_path: Path) -> None:
    gold = load_gold(gold_path)
    ev = evaluate(gold, gold)
    assert ev.true_pos == ev.n_gold == len(gold)
    assert ev.status_accuracy == ev.section_accuracy == ev.kind_accuracy == 1.0


def test_gold_covers_all_statuses_and_both_parts() -> None:
    for _, gold_path in GOLD_FILES:
        gold = load_gold(gold_path)
        assert set(gold["status"]) == set(STATUSES)
        assert {"review", "tasks"} <= set(gold["part"])
