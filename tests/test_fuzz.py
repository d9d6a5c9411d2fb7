"""Fuzz tests (hypothesis): random report-like text and random gazetteer rows.

The contract: the stages either work or raise a :class:`geo.errors.GeoError` (one line
with a fix); never another exception.  Runs are bounded (fixed example counts, no
deadline) and derandomised so CI is reproducible.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import GeoError
from geo.extract import extract
from geo.gazetteer import CSV_COLUMNS, KINDS, load_gazetteer
from geo.report import decode_report, parse
from geo.resolve import resolve

ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ["一、2023年工作回顾", "二、2024年主要目标任务", "（一）", "(2)", "三、", "开工建设",
             "建成投用", "加快推进", "甬舟铁路", "六横公路大桥一期", "轨道交通6、7、8号线",
             "鄞州区", "北仑区", "快速路", "水库", "医院", "公园", "等项目", "、", "，", "。",
             "；", "“", "”", "《", "》", "（", "）", "\n", "\n\n", "\u200b", "\ufeff", "\u00a0",
             "=HYPERLINK(", "-", "+", "@", "\t", "<script>", "123", "亿元", "增长8%", "号线",
             "一期", "二期", "和", "及", "与"]

report_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS),
                                 st.text(min_size=1, max_size=8)), min_size=1, max_size=120
                       ).map("".join)

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(report_text)
def test_fuzz_report_text(text):
    try:
        doc = parse(text)
        mentions, projects = resolve(extract(doc), "宁波市")
    except GeoError as exc:
        assert "\n" not in str(exc)
        return
    assert len(mentions) >= 0 and len(projects) <= max(len(mentions), 1)


@FUZZ
@given(st.binary(max_size=400) | report_text.map(lambda t: t.encode("utf-8", "replace")))
def test_fuzz_report_bytes(data):
    try:
        decode_report(data, "fuzz.txt")
    except GeoError as exc:
        assert "\n" not in str(exc) and "fix" in str(exc)


def _wkt():
    coord = st.tuples(st.floats(-200, 200, allow_nan=False), st.floats(-100, 100,
                                                                     allow_nan=False))
    pair = coord.map(lambda c: f"{c[0]:.4f} {c[1]:.4f}")
    return st.one_of(
        pair.map(lambda p: f"POINT ({p})"),
        st.lists(pair, min_size=0, max_size=6).map(lambda ps: f"LINESTRING ({', '.join(ps)})"),
        st.lists(pair, min_size=0, max_size=6).map(
            lambda ps: f"POLYGON (({', '.join(ps + ps[:1])}))"),
        st.just("GEOMETRYCOLLECTION (POINT (121.5 29.8))"), st.just("POINT EMPTY"),
        st.text(max_size=20))


row = st.fixed_dictionaries({
    "name": st.one_of(st.sampled_from(["甬舟铁路", "测试大桥", "", "=x"]), st.text(max_size=6)),
    "aliases": st.text(max_size=6), "kind": st.one_of(st.sampled_from(KINDS), st.text(max_size=5)),
    "name_en": st.text(max_size=5),
    "precision": st.sampled_from(["surveyed", "site", "approximate", "schematic", "district",
                                  "city", "bad", ""]),
    "source": st.sampled_from(["knowledge, unverified", "", "page"]),
    "district": st.sampled_from(["", "鄞州区", "北仑区|鄞州区", "无此区"]), "wkt": _wkt(),
})


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=5))
def test_fuzz_gazetteer_rows(tmp_path_factory, rows):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in CSV_COLUMNS})
    path = tmp_path_factory.mktemp("gz") / "gazetteer.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        load_gazetteer(path)
    except GeoError as exc:
        assert "\n" not in str(exc)



station_row = st.fixed_dictionaries({
    "name": st.one_of(st.sampled_from(["甲", "乙", "", "=x", "宁波火车站"]), st.text(max_size=4)),
    "line": st.sampled_from(["", "测试线", "别的线"]),
    "basis": st.sampled_from(["cited", "knowledge", "", "maybe"]),
    "datum": st.sampled_from(["WGS84", "GCJ-02", "BD-09", "", "UTM"]),
    "source_lon": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                            st.text(max_size=4)),
    "source_lat": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                            st.text(max_size=4)),
    "source": st.sampled_from(["knowledge, unverified", "", "https://a.org/x",
                               "https://a.org/x；", "dataset: y"]),
})


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(station_row, min_size=1, max_size=5),
       st.lists(st.sampled_from(["甲", "乙", "宁波火车站", "丙"]), max_size=4))
def test_fuzz_station_table_and_lines(tmp_path_factory, rows, names):
    """Any station table, and any line through any names, loads or gives one line."""
    import csv
    import io

    from geo.stations import STATION_COLUMNS, line_through, load_stations

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=STATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("st") / "stations.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        stations = load_stations(path)
    except GeoError as exc:
        assert "\n" not in str(exc)
        return
    try:
        line, cited = line_through(stations, names, "测试线")
    except (KeyError, ValueError):
        usable = set(stations.loc[stations["line"].isin(["", "测试线"]), "name"])
        assert len(names) < 2 or any(n not in usable for n in names)
        return
    assert 0 <= cited <= len(line.coords) == len(names)
