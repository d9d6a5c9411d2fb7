"""Robustness through the CLI: bad input, atomic outputs, determinism, security.

Every failure case checks the same contract: exit code 2, exactly one
``geo <command>: error: ...`` line on stderr naming the file (and line or row)
and a fix, no traceback, no temporary files left behind, and the previous good
outputs (one shared baseline build) byte-for-byte untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geo import settings
from geo.cli import main

ROOT = Path(__file__).resolve().parent.parent
NINGBO = ROOT / "data" / "raw" / "ningbo_2024.txt"
GAZETTEER = ROOT / "data" / "raw" / "ningbo_gazetteer.csv"
DISTRICTS = ROOT / "data" / "raw" / "ningbo_districts.geojson"
NAME = "ningbo_2024"

SMALL_REPORT = """各位代表：

现在，我代表市人民政府向大会报告工作，请予审议。

{h1}2023年工作回顾

加速构建综合立体对外交通网，杭甬高速复线一期、甬金铁路等项目建成投用，甬舟铁路、杭甬高速复线二期等项目加快推进。{extra}

{h2}2024年主要目标任务

{s1}强力扩大有效投资

加快建设六横公路大桥一期，开工建设宁波西枢纽，推进东部新城建设。

{h3}加强政府自身建设

各位代表，我们要坚定信心，奋力开创新局面。
"""


def small_report(h1: str = "一、", h2: str = "二、", h3: str = "三、", s1: str = "（一）",
                 extra: str = "") -> str:
    """A short synthetic report with a few gazetteer projects (fast to build)."""
    return SMALL_REPORT.format(h1=h1, h2=h2, h3=h3, s1=s1, extra=extra)


# ----------------------------------------------------------------------------- helpers


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, keyed by relative path."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``geo`` in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(code: int, err: str, command: str = "build") -> str:
    """Assert the one-line error contract and return that line."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(f"geo {command}: error:")]
    assert len(lines) == 1, err
    assert err.rstrip("\n").splitlines()[-1] == lines[0], "the error must be the last line"
    assert "(fix: " in lines[0], lines[0]
    return lines[0]


def temp_leftovers(root: Path) -> list[str]:
    """Temporary files of :func:`geo.io.atomic_path` (hidden ``.stem.xxxx`` files)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*") if p.is_file())


def gpkg_dump(path: Path) -> dict[str, list[tuple]]:
    """Every table of a GeoPackage (``SELECT * ... ORDER BY 1``) plus sqlite_master."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        master = con.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        dump = {"sqlite_master": master}
        for table in tables:
            dump[table] = con.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
        return dump
    finally:
        con.close()


def assert_valid_gpkg(path: Path) -> None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert con.execute("SELECT count(*) FROM gpkg_contents").fetchone()[0] > 0
    finally:
        con.close()


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """One good Ningbo build (root, digests) that every failure must leave untouched."""
    root = tmp_path_factory.mktemp("baseline")
    assert main(["build", "--root", str(root), "--name", NAME]) == 0
    return root, digests(root)


@pytest.fixture
def untouched(baseline):
    """Yield the baseline root; afterwards check its files and the absence of temp files."""
    root, before = baseline
    yield root
    assert digests(root) == before, "a failed build changed the previous outputs"
    assert temp_leftovers(root) == []


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "small.txt"
    path.write_text(small_report(), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- bad reports


def test_empty_report(untouched, tmp_path, capsys):
    report = tmp_path / "empty.txt"
    report.write_bytes(b"\n  \n")
    line = error_line(*run(["build", report, "--root", untouched, "--name", NAME], capsys)[::2])
    assert str(report) in line and "empty" in line


def test_binary_report(untouched, tmp_path, capsys):
    report = tmp_path / "scan.pdf.txt"
    report.write_bytes(bytes(range(256)) * 64)
    line = error_line(*run(["build", report, "--root", untouched, "--name", NAME], capsys)[::2])
    assert str(report) in line and "binary" in line


def test_gb18030_report_extracts_same_mentions(tmp_path, capsys):
    text = NINGBO.read_text(encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes(text.encode("gb18030"))
    for stem in ("gbk",):
        code, _, err = run(["extract", tmp_path / f"{stem}.txt", "-o", tmp_path / f"{stem}.csv",
                            "--city", "宁波市"], capsys)
        assert code == 0, err
    code, utf8, err = run(["extract", NINGBO, "--city", "宁波市"], capsys)
    assert code == 0, err
    gbk = (tmp_path / "gbk.csv").read_text(encoding="utf-8")
    assert gbk == utf8
    assert len(gbk.splitlines()) > 50


def test_report_without_headings_builds_with_warning(tmp_path, capsys):
    report = tmp_path / "flat.txt"
    report.write_text(small_report(h1="", h2="", h3="", s1=""), encoding="utf-8")
    code, _, err = run(["build", report, "--root", tmp_path / "out"], capsys)
    assert code == 0, err
    assert re.search(r"^warning: .*no part headings", err, re.M), err
    assert (tmp_path / "out" / "maps" / "flat.html").exists()


@pytest.mark.parametrize("headings", [
    ("1、", "2、", "3、", "（1）"),          # Arabic numerals
    ("一 ", "二 ", "三 ", "(一)"),           # no 、, half-width brackets
    ("第一部分 ", "第二部分 ", "第三部分 ", "（一）"),
], ids=["arabic", "no-dunhao", "bufen"])
def test_unusual_headings(headings, tmp_path, capsys):
    report = tmp_path / "odd.txt"
    report.write_text(small_report(*headings), encoding="utf-8")
    code, _, err = run(["build", report, "--root", tmp_path], capsys)
    assert code == 0, err
    assert "no part headings" not in err
    assert "parse: 3 parts, 1 sections" in err
    sections = (tmp_path / "data" / "processed" / "odd" / "sections.csv").read_text("utf-8")
    assert "2024年主要目标任务" in sections and "强力扩大有效投资" in sections


def test_very_long_paragraph(tmp_path, capsys):
    text = NINGBO.read_text(encoding="utf-8")
    body = "".join(line for line in text.splitlines() if len(line) > 100)  # one ~45 KB line
    giant = "推进" + "，".join(["城市更新提升"] * 20000)  # one 140 KB sentence, no full stop
    report = tmp_path / "long.txt"
    report.write_text(small_report(extra=body + giant + "。"), encoding="utf-8")
    t0 = time.perf_counter()
    code, out, err = run(["extract", report, "--city", "宁波市"], capsys)
    assert code == 0, err
    assert time.perf_counter() - t0 < 30
    assert "甬舟铁路" in out and "六横公路大桥一期" in out
    assert len(out.splitlines()) > 50


# ----------------------------------------------------------------------------- bad gazetteer


def _edit_gazetteer(case: str) -> tuple[str, int]:
    """Return (CSV text, 1-based line of the broken row) for one kind of damage."""
    lines = GAZETTEER.read_text(encoding="utf-8").splitlines()
    row = 3
    fields = lines[row - 1]
    if case == "wkt":
        lines[row - 1] = re.sub(r'"?(POINT|LINESTRING|POLYGON) \(.*$', '"LINESTRING (121.9 29.8,"',
                                fields)
    elif case == "kind":
        lines[row - 1] = fields.replace(",bridge,", ",spaceport,", 1)
    elif case == "swapped":
        lines[1] = re.sub(r"POINT \(([\d.]+) ([\d.]+)\)", r"POINT (\2 \1)", lines[1])
        assert "POINT (29." in lines[1]
        row = 2
    elif case == "duplicate":
        lines.append(lines[1])
        row = len(lines)
    elif case == "collection":
        lines[row - 1] = re.sub(r'"?(POINT|LINESTRING|POLYGON) \(.*$',
                                '"GEOMETRYCOLLECTION (POINT (121.5 29.8), '
                                'LINESTRING (121.5 29.8, 121.6 29.9))"', fields)
    return "\n".join(lines) + "\n", row


@pytest.mark.parametrize("case, words", [
    ("wkt", "invalid WKT"), ("kind", "unknown kind"), ("swapped", "swapped"),
    ("duplicate", "duplicate"), ("collection", "GeometryCollection is not a supported"),
])
def test_bad_gazetteer(case, words, untouched, tmp_path, monkeypatch, capsys):
    text, row = _edit_gazetteer(case)
    broken = tmp_path / "gazetteer.csv"
    broken.write_text(text, encoding="utf-8")
    assert text != GAZETTEER.read_text(encoding="utf-8")
    monkeypatch.setitem(settings.city_data, "宁波市",
                        {"gazetteer": broken, "districts": DISTRICTS})
    line = error_line(*run(["build", "--root", untouched, "--name", NAME], capsys)[::2])
    assert f"{broken}:{row}:" in line and words in line


# ----------------------------------------------------------------------------- bad outputs


def test_output_folder_under_a_file(untouched, small, tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    line = error_line(*run(["build", small, "--root", blocker / "out"], capsys)[::2])
    assert str(blocker) in line and "output folder" in line


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod 0o500 does not block writes")
def test_read_only_output_folder(small, tmp_path, capsys):
    root = tmp_path / "ro"
    assert main(["build", str(small), "--root", str(root)]) == 0
    before = digests(root)
    folders = [p for p in root.rglob("*") if p.is_dir()] + [root]
    for folder in folders:
        folder.chmod(0o500)
    try:
        line = error_line(*run(["build", small, "--root", root], capsys)[::2])
        assert "writable" in line or "cannot" in line
    finally:
        for folder in folders:
            folder.chmod(0o700)
    assert digests(root) == before


def test_corrupt_geopackage_is_replaced(small, tmp_path, capsys):
    """Decision: outputs are never read back, so a corrupt one is simply replaced."""
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    for root in (clean, dirty):
        (root / "layers").mkdir(parents=True)
    (dirty / "layers" / "small.gpkg").write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 5000)
    for root in (clean, dirty):
        code, _, err = run(["build", small, "--root", root], capsys)
        assert code == 0, err
    assert_valid_gpkg(dirty / "layers" / "small.gpkg")
    assert gpkg_dump(dirty / "layers" / "small.gpkg") == gpkg_dump(clean / "layers" / "small.gpkg")
    assert temp_leftovers(dirty) == []


def test_locked_geopackage(small, tmp_path, capsys):
    """A reader in a transaction (SQLite SHARED lock) neither blocks the build nor sees a
    torn file."""
    assert main(["build", str(small), "--root", str(tmp_path)]) == 0
    gpkg = tmp_path / "layers" / "small.gpkg"
    holder = sqlite3.connect(gpkg, isolation_level=None)
    try:
        holder.execute("BEGIN")
        seen = holder.execute("SELECT count(*) FROM gpkg_contents").fetchone()
        old_inode = gpkg.stat().st_ino
        code, _, err = run(["build", small, "--root", tmp_path], capsys)
        assert code == 0, err
        assert gpkg.stat().st_ino != old_inode, "the file must be replaced, not rewritten"
        assert holder.execute("SELECT count(*) FROM gpkg_contents").fetchone() == seen
        assert holder.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        holder.execute("COMMIT")
    finally:
        holder.close()
    assert_valid_gpkg(gpkg)
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize("lock", ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"])
def test_geopackage_held_for_writing_is_refused(small, tmp_path, capsys, lock):
    """A writer's lock (RESERVED or EXCLUSIVE) refuses the build: one line with a fix,
    no output replaced, no temporary left, and the writer's COMMIT keeps its edit."""
    assert main(["build", str(small), "--root", str(tmp_path)]) == 0
    gpkg = tmp_path / "layers" / "small.gpkg"
    before = digests(tmp_path)
    holder = sqlite3.connect(gpkg, isolation_level=None)
    try:
        holder.execute(lock)
        holder.execute("CREATE TABLE an_edit (x INTEGER)")
        holder.execute("INSERT INTO an_edit VALUES (42)")
        line = error_line(*run(["build", small, "--root", tmp_path], capsys)[::2])
        assert "open for writing" in line and "small.gpkg" in line and "nothing was" in line
        side = {k: v for k, v in digests(tmp_path).items() if not k.endswith("-journal")}
        assert side == before
        holder.execute("COMMIT")
    finally:
        holder.close()
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT x FROM an_edit").fetchall() == [(42,)]  # edit not lost
    finally:
        con.close()
    assert not Path(str(gpkg) + "-journal").exists()
    assert temp_leftovers(tmp_path) == []
    assert main(["build", str(small), "--root", str(tmp_path)]) == 0  # free again: replaced
    assert_valid_gpkg(gpkg)


# ----------------------------------------------------------------------------- dependencies


def test_missing_osmnx(untouched, small, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "osmnx", None)
    monkeypatch.setattr(settings, "use_network", False)
    line = error_line(*run(["build", small, "--online", "--root", untouched, "--name", NAME],
                           capsys)[::2])
    assert "osmnx" in line and "pip install osmnx" in line


def test_missing_cnmaps(untouched, small, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cnmaps", None)
    line = error_line(*run(["build", small, "--city", "杭州市", "--root", untouched,
                            "--name", NAME], capsys)[::2])
    assert "cnmaps" in line and "pip install cnmaps" in line


# ----------------------------------------------------------------------------- atomic outputs


def _fail_after_partial_write(target_module: str, monkeypatch) -> None:
    """Make ``target_module``'s writer write half a file, then fail."""
    import geo.io
    import geo.layers
    import geo.webmap

    def broken_pages(**kwargs):
        raise RuntimeError("simulated crash mid-write")

    def broken_gpkg(path, **kwargs):
        with geo.io.atomic_path(Path(path)) as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("simulated crash mid-write")

    if target_module == "webmap":
        monkeypatch.setattr(geo.webmap, "build_pages", broken_pages)
    else:
        monkeypatch.setattr(geo.layers, "write_geopackage", broken_gpkg)


@pytest.mark.parametrize("where", ["webmap", "layers"])
def test_crash_mid_write_keeps_previous_outputs(where, untouched, small, monkeypatch, capsys):
    """A different report crashing in the last writers must not leave a mixed set.

    A crash is a bug, so it keeps its traceback wherever it happens: the GeoPackage
    is written in this process, the map by a forked worker whose exception comes back
    with the worker's traceback chained to it."""
    _fail_after_partial_write(where, monkeypatch)
    with pytest.raises(RuntimeError, match="simulated crash") as info:
        main(["build", str(small), "--root", str(untouched), "--name", NAME])
    if where == "webmap" and os.environ.get("GEO_WORKERS", "1") != "0":
        assert "Traceback" in str(info.value.__cause__)


# ----------------------------------------------------------------- concurrency, determinism


def _cli(*args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "geo.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _same_outputs(a: Path, b: Path) -> None:
    """Byte-identical text outputs; GeoPackages identical table by table."""
    da, db = digests(a), digests(b)
    assert sorted(da) == sorted(db)
    for rel in da:
        if rel.endswith(".gpkg"):
            assert gpkg_dump(a / rel) == gpkg_dump(b / rel), rel
        else:
            assert da[rel] == db[rel], rel


def test_concurrent_builds(small, tmp_path, capsys):
    shared, single = tmp_path / "shared", tmp_path / "single"
    procs = [_cli("build", small, "--root", shared) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert main(["build", str(small), "--root", str(single)]) == 0
    assert_valid_gpkg(shared / "layers" / "small.gpkg")
    assert temp_leftovers(shared) == []
    _same_outputs(shared, single)


def test_deterministic_ningbo_build(baseline, tmp_path):
    root, _ = baseline
    assert main(["build", "--root", str(tmp_path), "--name", NAME]) == 0
    _same_outputs(root, tmp_path)
    for ext in ("csv", "geojson", "html"):
        assert any(rel.endswith(ext) for rel in digests(tmp_path)), ext


# ----------------------------------------------------------------------------- security

ATTACKS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)")


def test_html_escapes_report_text(tmp_path, capsys):
    extra = "开工建设{}大桥。加快建设{}公园。推进{}隧道建设。".format(*ATTACKS)
    report = tmp_path / "xss.txt"
    report.write_text(small_report(extra=extra), encoding="utf-8")
    code, _, err = run(["build", report, "--root", tmp_path], capsys)
    assert code == 0, err
    for page in ("xss.html", "xss_embed.html"):
        html = (tmp_path / "maps" / page).read_text(encoding="utf-8")
        assert "alert(1)" in html, "the attack strings should reach the page (escaped)"
        lowered = html.lower()
        assert "<script>alert" not in lowered
        assert "<img src=x" not in lowered
        assert 'href="javascript:' not in lowered
        assert "href='javascript:" not in lowered


def test_no_eval_of_data():
    sources = [*(ROOT / "geo").glob("*.py"), *(ROOT / "geo" / "resources" / "web").glob("*.js")]
    assert sources
    pattern = re.compile(r"(?<![\w.])(eval|exec)\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"]")
    offenders = [f"{p.name}:{n}" for p in sources
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


@pytest.mark.parametrize("name", ["../../evil", "a/b", "..", ".hidden", "/abs", "x\\y"])
def test_name_cannot_escape_output_folders(name, small, tmp_path, capsys):
    root = tmp_path / "a" / "b" / "root"
    line = error_line(*run(["build", small, "--root", root, "--name", name], capsys)[::2])
    assert "name" in line
    assert not any("evil" in p.name for p in tmp_path.rglob("*"))
    assert not (tmp_path / "a" / "b" / "root").exists() or not any(
        p.is_file() for p in root.rglob("*"))


# ----------------------------------------------------------------------------- issue 18: blow-ups


def _unpunctuated(chars: int) -> str:
    """A report whose review part is one paragraph of ``chars`` characters, no punctuation."""
    text = NINGBO.read_text(encoding="utf-8")
    body = re.sub(r"[\W_]", "", "".join(line for line in text.splitlines() if len(line) > 100))
    para = (body * (chars // len(body) + 1))[:chars]
    return small_report(extra="\n" + para + "\n")


def test_unpunctuated_paragraph_is_bounded(tmp_path, capsys):
    from geo.report import WINDOW

    report = tmp_path / "flat.txt"
    report.write_text(_unpunctuated(100_000), encoding="utf-8")
    t0 = time.perf_counter()
    code, out, err = run(["extract", report, "--city", "宁波市"], capsys)
    assert code == 0, err
    assert time.perf_counter() - t0 < 20
    assert "read in windows" in err
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) > 100
    assert max(len(r["quote"]) for r in rows) <= WINDOW
    assert sum(len(r["quote"]) for r in rows) < 10 * 100_000  # before: 100 KB per mention
    assert "六横公路大桥一期" in out


def test_drop_contained_matches_brute_force():
    import random

    from geo.extract import Candidate, _drop_contained

    def brute(cands):
        kept = []
        for c in sorted(cands, key=lambda c: (not c.explicit, -(c.end - c.start), c.start)):
            if not any(c.start < k.end and k.start < c.end for k in kept):
                kept.append(c)
        return sorted(kept, key=lambda c: c.start)

    rng = random.Random(18)
    for _ in range(300):
        cands = []
        for _ in range(rng.randint(0, 30)):
            start = rng.randint(0, 200)
            cands.append(Candidate(start, start + rng.randint(1, 25), "x", "road",
                                   explicit=rng.random() < 0.2))
        assert [(c.start, c.end) for c in _drop_contained(cands)] == \
            [(c.start, c.end) for c in brute(cands)]


def test_map_embeds_bounded_mentions():
    import pandas as pd

    from geo.pipeline import MAP_MENTIONS_PER_PROJECT, map_mentions

    mentions = pd.DataFrame({"project_id": ["P1"] * 50 + ["P2"] * 3,
                             "start": range(53), "mention_id": [f"M{i}" for i in range(53)]})
    shown = map_mentions(mentions)
    assert (shown["project_id"] == "P1").sum() == MAP_MENTIONS_PER_PROJECT
    assert (shown["project_id"] == "P2").sum() == 3


# ----------------------------------------------------------------------------- issue 18: structure

INVISIBLE = {"zwsp": "\u200b", "bom": "\ufeff", "zwj": "\u200d", "wj": "\u2060",
             "rlm": "\u200f", "nbsp": "\u00a0"}


@pytest.mark.parametrize("char", list(INVISIBLE.values()), ids=list(INVISIBLE))
def test_invisible_characters_keep_structure(char, tmp_path, capsys):
    text = NINGBO.read_text(encoding="utf-8")
    code, clean, err = run(["extract", NINGBO, "--city", "宁波市"], capsys)
    assert code == 0, err
    dirty = text.replace("\n二、", "\n" + char + "二、").replace("\n（一）", "\n" + char + "（一）")
    dirty = dirty.replace("甬舟铁路", "甬舟" + char + "铁路") if char != "\u00a0" else dirty
    report = tmp_path / "dirty.txt"
    report.write_text(dirty, encoding="utf-8")
    code, out, err = run(["extract", report, "--city", "宁波市"], capsys)
    assert code == 0, err
    import csv
    import io
    parts = [r["part"] for r in csv.DictReader(io.StringIO(out))]
    before = [r["part"] for r in csv.DictReader(io.StringIO(clean))]
    assert parts.count("tasks") == before.count("tasks") > 50
    assert parts == before
    if char != "\u00a0":
        assert "invisible characters" in err


# ----------------------------------------------------------------------------- issue 18: CSV injection

FORMULAS = ("=HYPERLINK(\"http://x\",\"a\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR")


def test_neutralise_cell():
    from geo.io import neutralise_cell

    for value in FORMULAS:
        assert neutralise_cell(value) == "'" + value
    for value in ("宁波", "", "-3.5", "+12", "1e-3", 5, -3.0, None):
        assert neutralise_cell(value) == value


def test_csv_injection_neutralised_everywhere(tmp_path, capsys):
    extra = "加快建设A公园、-B+1公园、-C大桥。"
    report = tmp_path / "inject.txt"
    report.write_text(small_report(extra=extra, s1="（一）=HYPERLINK(\"http://evil\")"),
                      encoding="utf-8")
    code, _, err = run(["build", report, "--root", tmp_path], capsys)
    assert code == 0, err
    import csv
    csvs = sorted(tmp_path.rglob("*.csv"))
    assert any(p.parent.name == "inject_data" for p in csvs)  # the public download
    seen = 0
    for path in csvs:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not (
                        cell.startswith("-") and not re.fullmatch(r"-[\d.eE+-]+", cell)), \
                        (path.name, cell)
                    seen += cell.startswith(("'=", "'-"))
    assert seen > 0, "the attack names should reach the CSVs (neutralised)"
    con = sqlite3.connect(tmp_path / "layers" / "inject.gpkg")
    try:  # the GeoPackage keeps the true value
        names = {r[0] for r in con.execute("SELECT name FROM mentions")}
    finally:
        con.close()
    assert "-C大桥" in names, names
    code, out, err = run(["extract", report], capsys)
    assert code == 0 and "\n=" not in out and ",=" not in out


# ----------------------------------------------------------------------------- issue 18: messages


def test_report_without_projects(untouched, tmp_path, capsys):
    text = ("过去一年我们坚持稳中求进工作总基调经济社会发展取得新成效人民生活持续改善。\n" * 5)
    report = tmp_path / "none.txt"
    report.write_text(text, encoding="utf-8")
    line = error_line(*run(["build", report, "--root", untouched, "--name", NAME], capsys)[::2])
    assert "no project mentions found" in line  # the check issue 14 added after resolve
    code, out, err = run(["extract", report], capsys)
    assert code == 0 and "Traceback" not in err
    assert out.splitlines()[0].startswith("mention_id,") and len(out.splitlines()) == 1


TRADITIONAL = ("各位代表：現在我代表市人民政府向大會報告工作，請予審議。過去一年，我們堅持穩中求進"
               "工作總基調，加快建設鐵路、公路和港口，經濟社會發展取得新成效。\n") * 20


@pytest.mark.parametrize("case, words", [
    ("big5", "Big5"),
    ("truncated", "ends in the middle of a character"),
    ("corrupted", "invalid UTF-8 byte"),
])
def test_bad_encodings(case, words, untouched, tmp_path, capsys):
    data = NINGBO.read_bytes()
    if case == "big5":
        data = TRADITIONAL.encode("big5")
    elif case == "truncated":
        data = data[:-1]
    else:
        data = data[:5000] + b"\xff" + data[5000:]
    report = tmp_path / f"{case}.txt"
    report.write_bytes(data)
    line = error_line(*run(["build", report, "--root", untouched, "--name", NAME], capsys)[::2])
    assert words in line and str(report) in line
    if case != "big5":
        assert re.search(rf"{re.escape(str(report))}:\d+: .* at byte \d+", line), line
        offset = int(re.search(r"at byte (\d+)", line).group(1))
        lineno = int(re.search(rf"{re.escape(str(report))}:(\d+):", line).group(1))
        assert data[:offset].count(b"\n") + 1 == lineno
        assert abs(offset - (len(data) - 2 if case == "truncated" else 5000)) <= 3


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(encoding, tmp_path, capsys):
    report = tmp_path / "u16.txt"
    report.write_bytes(NINGBO.read_text(encoding="utf-8").encode(encoding))
    code, out, err = run(["extract", report, "--city", "宁波市"], capsys)
    assert code == 0, err
    code, utf8, err = run(["extract", NINGBO, "--city", "宁波市"], capsys)
    assert out == utf8


def test_overlong_name_refused_before_folders(small, tmp_path, capsys):
    root = tmp_path / "root"
    line = error_line(*run(["build", small, "--root", root, "--name", "宁波" * 40], capsys)[::2])
    assert "too long" in line
    assert not root.exists()


def test_empty_name_refused(small, tmp_path, capsys):
    line = error_line(*run(["build", small, "--root", tmp_path / "r", "--name", ""], capsys)[::2])
    assert "invalid build name ''" in line


def test_gazetteer_polygon_of_10000_vertices(tmp_path):
    import math

    ring = [(121.55 + 0.01 * math.cos(2 * math.pi * i / 10_000),
             29.87 + 0.01 * math.sin(2 * math.pi * i / 10_000)) for i in range(10_000)]
    wkt = "POLYGON ((" + ", ".join(f"{x:.7f} {y:.7f}" for x, y in ring + ring[:1]) + "))"
    assert len(wkt) > 131072  # csv's default field limit
    lines = GAZETTEER.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = {c: "" for c in header}
    row.update(name="测试大圆新城", kind="urban_area", precision="approximate",
               source="test polygon", wkt=wkt)
    import csv
    import io
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row[c] for c in header)
    gazetteer = tmp_path / "gazetteer.csv"
    gazetteer.write_text("\n".join(lines) + "\n" + buf.getvalue(), encoding="utf-8")
    from geo.gazetteer import load_gazetteer

    frame = load_gazetteer(gazetteer)
    big = frame[frame["name"] == "测试大圆新城"].geometry.iloc[0]
    assert len(big.exterior.coords) == 10_001


# ----------------------------------------------------------------------------- issue 18: county


def test_own_clause():
    from geo.geocode import own_clause

    s = "北仑区新增企业120家，开工建设甬舟铁路（北仑段，一期），鄞州区完成投资10亿元。"
    a = s.index("甬舟铁路")
    assert own_clause(s, a, a + 4) == "开工建设甬舟铁路（北仑段，一期）"
    assert own_clause("开工建设甬舟铁路", 4, 8) == "开工建设甬舟铁路"


def test_county_fallback_reads_only_the_projects_clause(tmp_path, capsys):
    extra = ("北仑区规上工业增加值增长12%，开工建设测试甲医院。"
             "奉化区开工建设测试乙医院。")
    report = tmp_path / "county.txt"
    report.write_text(small_report(extra=extra), encoding="utf-8")
    code, _, err = run(["build", report, "--root", tmp_path], capsys)
    assert code == 0, err
    import csv
    with (tmp_path / "data" / "processed" / "county" / "projects.csv").open(
            encoding="utf-8") as handle:
        rows = {r["name"]: r for r in csv.DictReader(handle)}
    assert rows["测试乙医院"]["districts"] == "奉化区"        # its own clause names it
    assert rows["测试乙医院"]["precision"] == "district"
    assert rows["测试甲医院"]["districts"] == ""              # a statistic's county: no
    assert rows["测试甲医院"]["precision"] == ""


# ----------------------------------------------------------------------------- issue 18: kills


def _outputs(root: Path) -> dict[str, object]:
    """Every output keyed by relative path: GeoPackages by content, other files by digest."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            rel = p.relative_to(root).as_posix()
            out[rel] = gpkg_dump(p) if p.suffix == ".gpkg" else hashlib.sha256(
                p.read_bytes()).hexdigest()
    return out


def test_kill_between_renames_is_recovered(tmp_path):
    """A process killed after 2 of 4 renames: the next recover() completes the new set."""
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from geo import io
root = Path({str(tmp_path)!r})
real, calls = os.replace, []
def dying(a, b):
    calls.append(a)
    if len(calls) == 4:   # the journal's own rename is call 1
        os._exit(9)
    real(a, b)
io.os.replace = dying
with io.transaction(root / ".k.switch"):
    for n in range(4):
        io.write_text(root / f"f{{n}}.txt", "new")
"""
    for n in range(4):
        (tmp_path / f"f{n}.txt").write_text("old", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert proc.returncode == 9, proc.stderr
    states = [(tmp_path / f"f{n}.txt").read_text(encoding="utf-8") for n in range(4)]
    assert states == ["new", "new", "old", "old"]  # the mixed set a kill leaves
    from geo.io import recover
    assert recover(tmp_path / ".k.switch") == 2
    assert [(tmp_path / f"f{n}.txt").read_text(encoding="utf-8") for n in range(4)] == ["new"] * 4
    assert temp_leftovers(tmp_path) == []


def test_kill_sweep(tmp_path, capsys):
    """SIGKILL a build at many moments; the next build (even a failing one) leaves no
    temporary file and a set that is wholly the old or wholly the new build."""
    import shutil
    import signal

    old_report, new_report = tmp_path / "a.txt", tmp_path / "b.txt"
    old_report.write_text(small_report(), encoding="utf-8")
    new_report.write_text(small_report(extra="开工建设测试乙大桥。"), encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    ref_old, ref_new = tmp_path / "ref_old", tmp_path / "ref_new"
    assert main(["build", str(old_report), "--root", str(ref_old), "--name", "k"]) == 0
    t0 = time.perf_counter()
    proc = _cli("build", new_report, "--root", ref_new, "--name", "k")
    assert proc.wait(timeout=300) == 0
    duration = time.perf_counter() - t0
    old, new = _outputs(ref_old), _outputs(ref_new)
    assert sorted(old) == sorted(new)
    differing = [rel for rel in old if old[rel] != new[rel]]
    assert len(differing) >= 5
    outcomes = []
    for i in range(12):
        root = tmp_path / f"kill{i}"
        shutil.copytree(ref_old, root)
        proc = _cli("build", new_report, "--root", root, "--name", "k")
        time.sleep(duration * (0.6 + 0.04 * i))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        code = main(["build", str(empty), "--root", str(root), "--name", "k"])  # fails
        assert code == 2
        assert temp_leftovers(root) == [], i
        now = _outputs(root)
        assert sorted(now) == sorted(old), i
        sides = {("old" if now[rel] == old[rel] else "new" if now[rel] == new[rel] else "?")
                 for rel in differing}
        assert len(sides) == 1 and "?" not in sides, (i, sides)
        outcomes.append(sides.pop())
    capsys.readouterr()
    print("kill outcomes:", outcomes)


def test_output_path_that_is_a_folder_replaces_nothing(small, tmp_path, capsys):
    root = tmp_path / "root"
    assert main(["build", str(small), "--root", str(root), "--name", "d"]) == 0
    (root / "maps" / "d_embed.html").unlink()
    (root / "maps" / "d_embed.html").mkdir()
    before = digests(root)
    line = error_line(*run(["build", small, "--root", root, "--name", "d"], capsys)[::2])
    assert "is a folder" in line and "d_embed.html" in line
    assert digests(root) == before
    assert temp_leftovers(root) == []


# ----------------------------------------------------------------------------- download links


def _safe_relative_pattern() -> re.Pattern:
    """The map's own test for relative links (isSafeRelative in app.js)."""
    app = (Path(__file__).resolve().parent.parent / "geo" / "resources" / "web" / "app.js")
    match = re.search(r"function isSafeRelative\(s\) \{.*?/(\^.*?\$)/\.test", app.read_text(
        encoding="utf-8"), re.DOTALL)
    assert match, "isSafeRelative not found in app.js"
    return re.compile(match.group(1))


@pytest.mark.parametrize("name", ["宁波 2024", "report#2", "宁波市 #1 & 'x'", "a~b%c"])
def test_download_links_are_url_encoded(small, tmp_path, capsys, name):
    """Every download link of the map (full and embed) is percent-encoded, passes the
    map's link filter and names a file that exists."""
    from urllib.parse import unquote

    code, _, err = run(["build", small, "--root", tmp_path, "--name", name], capsys)
    assert code == 0, err
    pattern = _safe_relative_pattern()
    for page in (tmp_path / "maps" / f"{name}.html", tmp_path / "maps" / f"{name}_embed.html"):
        text = page.read_text(encoding="utf-8")
        match = re.search(r'<script type="application/json" id="geomap-data">(.*?)</script>',
                          text, re.DOTALL)
        assert match, page
        links = json.loads(match.group(1))["downloads"]
        assert len(links) == 4
        for link in links:
            url = link["url"]
            assert url and pattern.match(url) and url[:2] != "//", link
            assert not set(url) & set(" #&'\"?~\\") and url.isascii(), url
            assert (page.parent / unquote(url)).is_file(), url
