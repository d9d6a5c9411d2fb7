"""Parsing: decoding, parts, sections, leads, sentences, bad input."""

from __future__ import annotations

import pytest

from geo.errors import ReportError
from geo.report import arabic_to_cn, decode_report, parse, part_role, read_report

SMALL = """各位代表：
一、2023年工作回顾
一年来，我们做了很多工作。
（一）建设交通网络
甬江大桥建成通车。轨道交通6号线加快建设。
（二）改善生态环境
某某公园建成开放。
二、2024年工作安排
总的要求是稳中求进。
（一）加快交通建设
加快市域交通畅联。开工建设某某大道。
三、加强政府自身建设
坚持依法行政。
"""


def test_parts_sections_and_years():
    doc = parse(SMALL)
    assert [p.role for p in doc.parts] == ["review", "tasks", "other"]
    assert [p.year for p in doc.parts] == [2023, 2024, 2024]
    assert doc.report_year == 2024
    assert [(s.number, s.title, s.part_index) for s in doc.sections] == [
        ("一", "建设交通网络", 0), ("二", "改善生态环境", 0), ("一", "加快交通建设", 1)]


def test_paragraph_before_first_section_has_empty_section():
    doc = parse(SMALL)
    first = next(p for p in doc.paragraphs if p.text.startswith("一年来"))
    assert first.part_index == 0 and first.section_index == -1
    table = doc.sections_table()
    assert list(table["section_id"]) == ["1", "1.1", "1.2", "2", "2.1", "3"]


def test_lead_phrase_and_sentences():
    doc = parse(SMALL)
    para = next(p for p in doc.paragraphs if p.text.startswith("加快市域"))
    assert para.lead == "加快市域交通畅联"
    assert [s.text for s in para.sentences] == ["加快市域交通畅联。", "开工建设某某大道。"]
    assert all(SMALL[s.start:s.end] == s.text for p in doc.paragraphs for s in p.sentences)


@pytest.mark.parametrize("title,role", [
    ("2023年工作回顾", "review"), ("过去五年工作回顾", "review"),
    ("2024年主要目标任务", "tasks"), ("2025年工作安排", "tasks"), ("今年重点工作", "tasks"),
    ("加强政府自身建设", "other")])
def test_part_role_from_meaning(title, role):
    assert part_role(title) == role


def test_unusual_headings_arabic_and_missing_comma():
    text = "1 2023年工作回顾\n甬江大桥建成通车。\n二 2024年工作安排\n（1）交通\n开工建设某某大道，加快推进。\n"
    doc = parse(text)
    assert [p.role for p in doc.parts] == ["review", "tasks"]
    assert doc.parts[0].number == "一" and doc.sections[0].number == "一"


def test_no_headings_is_one_part_with_warning():
    doc = parse("宁波今年开工建设甬江大桥。加快建设轨道交通6号线。")
    assert len(doc.parts) == 1 and doc.parts[0].role == "other"
    assert any("no part headings" in w for w in doc.warnings)


def test_arabic_to_cn():
    assert [arabic_to_cn(n) for n in (1, 10, 12, 20, 35)] == ["一", "十", "十二", "二十", "三十五"]


def test_decode_gb18030_and_utf8_bom_and_crlf():
    text = "一、2023年工作回顾\r\n甬江大桥建成通车，全市上下共同努力取得显著成效，人民群众满意。\r\n"
    assert decode_report(text.encode("gb18030")) == text.replace("\r\n", "\n")
    assert decode_report(text.encode("utf-16")) == text.replace("\r\n", "\n")
    assert decode_report(b"\xef\xbb\xbf" + text.encode("utf-8")) == text.replace("\r\n", "\n")


@pytest.mark.parametrize("data,needle", [
    (b"", "empty"), (b"   \n\n", "empty"), (bytes(range(256)) * 10, "binary"),
    (b"hello world, this is not a Chinese report at all", "Chinese"),
    (b"\xff\xfe\x00\x00garbage", "UTF-16")],
    ids=["empty", "blank", "binary", "not-chinese", "broken-utf16"])
def test_bad_input_is_named(tmp_path, data, needle):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    with pytest.raises(ReportError) as info:
        read_report(path)
    assert needle in str(info.value) and str(path) in str(info.value)
    assert "fix" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ReportError, match="not found"):
        read_report(tmp_path / "nope.txt")


def test_truncated_report_warns():
    doc = parse("一、2023年工作回顾\n" + "甬江大桥建成通车，全市上下共同努力。" * 20 + "轨道交通6号线加")
    assert any("truncated" in w for w in doc.warnings)


def test_ningbo_outline(tmp_path):
    from conftest import ROOT

    doc = parse(read_report(ROOT / "data/raw/ningbo_2024.txt"))
    table = doc.sections_table()
    assert list(table[table["part"] == "review"]["section"])[1:] == list("一二三四五六七八")
    assert len(table[table["part"] == "tasks"]) == 11
    assert doc.report_year == 2024
