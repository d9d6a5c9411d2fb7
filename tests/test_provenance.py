"""Public source labels and links (geo.provenance)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.provenance import (
    MAX_LABEL,
    glued_links,
    is_flagged,
    original_url,
    public_source,
    urls_in,
)


def test_urls_lose_trailing_punctuation():
    text = "see https://a.example/x.html; then (https://b.example/y), and https://c.example/z."
    assert urls_in(text) == ["https://a.example/x.html", "https://b.example/y",
                             "https://c.example/z"]


def test_glued_links():
    assert glued_links("a https://x.org/a.html; b (https://y.org/b) c https://z.org/c end") == [
        "https://x.org/a.html;", "https://y.org/b)"]
    assert glued_links("a https://x.org/a.html ; b") == []


def test_wikipedia_copies_point_at_the_article():
    assert original_url("https://zhwiki.oracleblog.org/zh-mo/%E6%A2%85%E5%B1%B1%E5%B2%9B") \
        == "https://zh.wikipedia.org/wiki/%E6%A2%85%E5%B1%B1%E5%B2%9B"
    assert original_url("https://nzt-eth.ipns.dweb.link/wiki/Shengmo_Road_Station.html") \
        == "https://en.wikipedia.org/wiki/Shengmo_Road_Station"
    assert original_url("https://zh.wikipedia.org./zh-hk/X") == "https://zh.wikipedia.org/zh-hk/X"
    assert original_url("http://news.cnnb.com.cn/a.shtml") == "http://news.cnnb.com.cn/a.shtml"


@pytest.mark.parametrize("notes, label, url", [
    ("knowledge, unverified; waypoints: A, B", "knowledge, unverified", ""),
    ("dataset: airportsdata 20261103 (PyPI); from OurAirports", "dataset: airportsdata 20261103 (PyPI)",
     ""),
    ("http://news.cnnb.com.cn/x.shtml; route; knowledge of location for coordinates",
     "中国宁波网; coordinates placed from knowledge", "http://news.cnnb.com.cn/x.shtml"),
    ("https://www.zhetiaohe.com/ss/1.html; a content farm", "unverified web copy (zhetiaohe.com)", ""),
    ("https://www.zhetiaohe.com/ss/1.html then http://www.nbmetro.com/n.php?info/1.",
     "宁波市轨道交通集团", "http://www.nbmetro.com/n.php?info/1"),
])
def test_public_source(notes, label, url):
    got = public_source(notes)
    assert (got.label, got.url) == (label, url)


def test_flagged_domains():
    assert is_flagged("http://m.co188.com/bbs/1.html")
    assert not is_flagged("https://zh.wikipedia.org/wiki/A")


def test_ningbo_outputs_show_short_labels_and_clean_links(ningbo_build):
    """No public label over 80 characters, no link ending in punctuation, no flagged link."""
    projects = pd.read_csv(ningbo_build.paths["projects"], keep_default_na=False)
    assert projects["source"].str.len().max() <= MAX_LABEL
    links = projects.loc[projects["source_url"] != "", "source_url"]
    assert not links.str.contains(r"[.,;:)）。，；]$").any()
    assert not links.map(is_flagged).any()
    assert not projects["source_notes"].map(glued_links).map(bool).any()
    located = projects[projects["geometry_type"] != ""]
    assert (located["source_notes"] != "").all()
    page = ningbo_build.paths["map"].read_text("utf-8")
    assert "knowledge of location for coordinates" not in page     # notes stay out of the map
