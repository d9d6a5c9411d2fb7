"""Extraction never raises: empty results, no headings, news text, random report-like text."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.cli import main
from geo.errors import GeoError
from geo.extract import extract
from geo.report import parse
from geo.resolve import resolve

NO_PROJECT = ("各位代表：\n\n过去一年，我们坚持稳中求进工作总基调，经济运行总体平稳，"
              "人民生活持续改善。今年我们将继续深化改革，扩大开放，推动高质量发展。\n")


def test_resolve_without_mentions_does_not_crash():
    """Regression: ``KeyError: 'first_start'`` in resolve() when nothing is extracted."""
    mentions = extract(parse(NO_PROJECT))
    assert mentions.empty
    resolved, projects = resolve(mentions, "杭州市")
    assert resolved.empty and projects.empty
    assert "first_start" in projects.columns


def test_extract_cli_on_text_without_projects(tmp_path: Path):
    src = tmp_path / "r.txt"
    src.write_text(NO_PROJECT, "utf-8")
    assert main(["extract", str(src), "-o", str(tmp_path / "m.csv")]) == 0
    assert (tmp_path / "m.csv").read_text("utf-8").startswith("mention_id")


#: Pieces of report text: headings, verbs, heads, list marks, brackets, noise.
PIECES = ["一、过去一年工作回顾", "二、2025年工作安排", "（一）", "（二）", "\n", "。", "，", "、",
          "；", "：", "（", "）", "“", "”", "《", "》", "等", "等7个", "以及", "和", "……",
          "加快", "建设", "开工建设", "建成通车", "推进", "前期", "继续抓好", "高标准建设",
          "全面提速", "做好", "开班招生", "（今年建成通车）", "铁路", "高铁", "号线", "3、4号线",
          "机场", "三跑道", "口岸", "枢纽", "站", "组团", "合作区", "走廊", "商圈", "水库",
          "公园", "医院", "项目", "工程", "二期", "东段", "成都", "深圳", "西丽", "S3", "G15",
          "１２", "Ａ", "a", "-", "—", " ", "\t", "\u3000", "\ufeff", "!", "?", "{", "\\"]

report_like = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)),
                       max_size=60).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=report_like)
def test_extract_never_raises(tmp_path_factory, body: str):
    """``geo extract`` on any text: a result (exit 0) or one clear message (exit 2)."""
    folder = tmp_path_factory.mktemp("fuzz")
    src = folder / "r.txt"
    src.write_text(body, "utf-8", errors="surrogatepass")
    assert main(["extract", str(src), "-o", str(folder / "m.csv")]) in (0, 2)


@settings(max_examples=60, deadline=None)
@given(body=report_like)
def test_extract_function_offsets_are_in_the_text(body: str):
    """On text that parses, every mention's span lies inside the text."""
    try:
        doc = parse(body)
    except GeoError:
        return  # a GeoError (bad input) is a clear message, not a crash
    frame = extract(doc)
    for row in frame.itertuples():
        assert 0 <= row.start < row.end <= len(doc.text)


def test_build_without_projects_is_one_clear_message(tmp_path: Path, capsys):
    """``geo build`` on a report naming no project: exit 2 and one line with the fix."""
    src = tmp_path / "r.txt"
    src.write_text(NO_PROJECT, "utf-8")
    assert main(["build", str(src), "--name", "empty", "--root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no project mentions found" in err and "fix:" in err and "Traceback" not in err


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(body=report_like)
def test_build_never_raises(tmp_path_factory, body: str):
    """``geo build`` (Ningbo's gazetteer and districts) on random report-like text:
    a build (exit 0) or one clear message (exit 2), never a traceback. Bounded: 5 runs."""
    folder = tmp_path_factory.mktemp("fuzzbuild")
    src = folder / "r.txt"
    src.write_text("一、过去一年工作回顾\n（一）建设\n开工建设甬江大桥。" + body, "utf-8")
    assert main(["build", str(src), "--name", "fuzz", "--root", str(folder / "out")]) in (0, 2)


def test_a_report_naming_one_unlocated_project_builds(tmp_path):
    """Regression: a lone project left pandas' NA in the map data (NAType in json)."""
    src = tmp_path / "r.txt"
    src.write_text("一、过去一年工作回顾\n（一）建设\n开工建设甬江大桥。\n", "utf-8")
    assert main(["build", str(src), "--root", str(tmp_path / "out"), "--name", "one"]) == 0
    page = (tmp_path / "out" / "maps" / "one.html").read_text("utf-8")
    assert "甬江大桥" in page
