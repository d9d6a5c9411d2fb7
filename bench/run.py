"""Benchmark the build: floor, stages, throughput, scaling, memory, map size and first render.

    python bench/run.py [--quick] [--no-browser] [--repeats 3]

Prints a table and writes bench/results/bench.json.  Creates the corpus with
bench/make_corpus.py if bench/corpus/ is empty.  See bench/README.md for what
each figure means and the targets.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

CORPUS = BENCH / "corpus"
RESULTS = BENCH / "results"
FLOOR_IMPORTS = "import geopandas, shapely, pyproj, pyogrio, folium, pandas"
STAGES = ("read", "parse", "extract", "gazetteer", "resolve", "geocode", "districts", "checks",
          "write_tables", "write_gpkg", "write_map")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ORIGIN = "http://geomap.test/"
TILE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGN48eIxAAVvArQo67LyAAAAAElFTkSuQmCC")

#: Targets: name -> (description, check on the results dict).
TARGETS = {
    "build_vs_floor": ("whole Ningbo build <= 2x floor (wall)",
                       lambda r: r["e2e"]["wall_median_s"] <= 2 * r["floor"]["wall_median_s"]),
    "extraction": ("extraction >= 1 MB/s", lambda r: r["extraction"]["mb_per_s"] >= 1.0),
    "corpus_100": ("100 reports end to end < 60 s", lambda r: r["corpus"]["total_s"] < 60.0),
    "linear": ("cost linear in size (R^2 >= 0.9)", lambda r: r["corpus"]["r2"] >= 0.9),
    "not_superlinear": ("cost not superlinear (log-log slope <= 1.1)",
                        lambda r: r["corpus"]["exponent"] <= 1.1),
    "extract_linear": ("extraction linear in size (R^2 >= 0.9)",
                       lambda r: r["extraction"]["r2"] >= 0.9),
    "first_render": ("first render <= 1 s",
                     lambda r: r.get("render", {}).get("median_ms", 1e9) <= 1000.0),
    "phone_ready": ("phone (390×844, CPU 4× slower): ready <= 1 s",
                    lambda r: r.get("phone", {}).get("ready_median_ms", 1e9) <= 1000.0),
    "phone_long_task": ("phone: no main-thread task over 200 ms",
                        lambda r: r.get("phone", {}).get("longest_task_max_ms", 1e9) <= 200.0),
}


# ----------------------------------------------------------------------------- subprocesses


def _timed_child(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd`` in a fresh process; wall and CPU seconds, peak RSS (MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr.read().decode()}")
    proc.stderr.close()
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "maxrss_mb": usage.ru_maxrss / 1024}


def _summarise(runs: list[dict[str, float]]) -> dict[str, float]:
    return {"runs": len(runs),
            "wall_median_s": statistics.median(r["wall_s"] for r in runs),
            "wall_min_s": min(r["wall_s"] for r in runs),
            "cpu_median_s": statistics.median(r["cpu_s"] for r in runs),
            "maxrss_mb": max(r["maxrss_mb"] for r in runs)}


def measure_floor_and_build(repeats: int) -> tuple[dict, dict]:
    """The floor (importing the build's libraries) and ``geo build`` (Ningbo), each in a
    fresh interpreter, alternated run by run so that load on a shared machine affects
    both alike; medians are reported."""
    _timed_child([sys.executable, "-c", FLOOR_IMPORTS])  # warm the OS file cache
    floor, build = [], []
    for _ in range(repeats + 1):
        floor.append(_timed_child([sys.executable, "-c", FLOOR_IMPORTS]))
        with tempfile.TemporaryDirectory() as root:
            build.append(_timed_child([sys.executable, "-m", "geo.cli", "build", "--root",
                                       root]))
    # the first build warms caches (pyc, file cache)
    return _summarise(floor[1:]), _summarise(build[1:])


# ----------------------------------------------------------------------------- in process


def measure_stages(repeats: int, keep: Path) -> tuple[dict, Path]:
    """Per-stage seconds of the Ningbo build (run_stages + write_outputs), median of warm runs.

    Run ``i`` writes under ``keep/run<i>``; returns the results and ``keep/run0``.
    """
    from geo import settings
    from geo.pipeline import output_paths, run_stages, write_outputs

    runs = []
    for i in range(repeats + 1):
        root = keep / f"run{i}"
        t0 = time.perf_counter()
        stages = run_stages(settings.default_report, city=settings.default_city,
                            name=settings.default_name)
        write_outputs(stages, output_paths(settings.default_name, root))
        timings = dict(stages.timings, total=time.perf_counter() - t0)
        runs.append(timings)
    warm = runs[1:] or runs
    median = {s: statistics.median(r.get(s, 0.0) for r in warm) for s in (*STAGES, "total")}
    return {"first": runs[0], "median": median, "counts": stages.counts()}, keep / "run0"


def measure_extraction(paths: list[Path]) -> dict[str, float]:
    """read + parse + extract over the corpus: MB/s."""
    from geo.extract import extract
    from geo.report import parse, read_report

    total_bytes, seconds, mentions, kbs, cpus = 0, 0.0, 0, [], []
    for path in paths:
        t0, c0 = time.perf_counter(), time.process_time()
        mentions += len(extract(parse(read_report(path), path)))
        seconds += time.perf_counter() - t0
        cpus.append(time.process_time() - c0)
        kbs.append(path.stat().st_size / 1e3)
        total_bytes += path.stat().st_size
    _, slope, r2 = _fit(kbs, cpus)
    return {"reports": len(paths), "mb": total_bytes / 1e6, "seconds": seconds,
            "mb_per_s": total_bytes / 1e6 / seconds, "mentions": mentions,
            "cpu_s_per_100kb": slope * 100, "r2": r2}


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares line y = a + b x; return (a, b, R^2)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, 1.0 - ss_res / ss_tot if ss_tot else 1.0


def measure_corpus(paths: list[Path], write_every: int, out: Path,
                   fit_repeats: int = 2) -> dict:
    """Every report through run_stages (no writes); a few also through write_outputs.

    The total is the wall time of the first pass.  The line is fitted to each
    report's smallest CPU time over ``fit_repeats`` passes (other processes
    still perturb CPU time through caches and frequency, by up to 2x here).
    """
    from geo import settings
    from geo.pipeline import output_paths, run_stages, write_outputs

    rows, writes = [], []
    t_all = time.perf_counter()
    for i, path in enumerate(paths):
        t0, c0 = time.perf_counter(), time.process_time()
        stages = run_stages(path, city=settings.default_city, name=path.stem)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        c = stages.counts()
        rows.append({"report": path.name, "kb": path.stat().st_size / 1e3, "seconds": seconds,
                     "cpu_s": cpu, "mentions": c["mentions"], "projects": c["projects"],
                     "located": c["located"]})
        if write_every and i % write_every == write_every - 1:
            t0 = time.perf_counter()
            write_outputs(stages, output_paths(path.stem, out))
            writes.append({"report": path.name, "kb": rows[-1]["kb"],
                           "seconds": time.perf_counter() - t0})
    total = time.perf_counter() - t_all - sum(w["seconds"] for w in writes)
    for _ in range(fit_repeats - 1):
        for row, path in zip(rows, paths, strict=True):
            c0 = time.process_time()
            run_stages(path, city=settings.default_city, name=path.stem)
            row["cpu_s"] = min(row["cpu_s"], time.process_time() - c0)
    # CPU time per report: other processes' load adds noise to wall time, not to CPU time
    a, b, r2 = _fit([r["kb"] for r in rows], [r["cpu_s"] for r in rows])
    _, exponent, _ = _fit([math.log(r["kb"]) for r in rows], [math.log(r["cpu_s"]) for r in rows])
    _, _, r2_wall = _fit([r["kb"] for r in rows], [r["seconds"] for r in rows])
    return {"reports": len(rows), "total_s": total, "fit_repeats": fit_repeats,
            "total_cpu_s": sum(r["cpu_s"] for r in rows),
            "intercept_s": a, "s_per_100kb": b * 100, "r2": r2, "r2_wall": r2_wall,
            "exponent": exponent,
            "rows": rows, "writes": writes,
            "write_median_s": statistics.median(w["seconds"] for w in writes) if writes else None}


def measure_html(root: Path) -> dict[str, int]:
    html = (root / "maps" / "ningbo_2024.html").read_bytes()
    return {"bytes": len(html), "gzip_bytes": len(gzip.compress(html, 6))}


# ----------------------------------------------------------------------------- browser

#: Records when the first Leaflet layer (vector path, canvas or marker) is in the DOM.
FIRST_LAYER_JS = """
(() => {
  const sel = '.leaflet-overlay-pane path, .leaflet-overlay-pane canvas, .leaflet-marker-pane > *';
  const poll = () => {
    if (document.querySelector(sel)) { window.__benchFirstLayer = performance.now(); return; }
    requestAnimationFrame(poll);
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', poll);
  } else { poll(); }
})();
"""

RESULT_JS = """
() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {ready: window.__geoReady === undefined ? null : window.__geoReady,
          ready_ms: typeof window.__geoReadyAt === 'number' ? window.__geoReadyAt : null,
          first_layer_ms: window.__benchFirstLayer ?? null,
          dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
          layers: document.querySelectorAll(
            '.leaflet-overlay-pane path, .leaflet-marker-pane > *').length};
}
"""


def _router(page_bytes: bytes, aborted: list[str]):
    """Playwright route handler: the page at ORIGIN/map.html, a blank tile for every
    image, every other request aborted (its URL appended to ``aborted``)."""
    def route(r) -> None:
        if r.request.url == ORIGIN + "map.html":
            r.fulfill(body=page_bytes, content_type="text/html; charset=utf-8")
        elif r.request.resource_type == "image":
            r.fulfill(body=TILE_PNG, content_type="image/png")
        else:
            aborted.append(r.request.url)
            r.abort()
    return route


def measure_render(html_path: Path, repeats: int) -> dict:
    """Navigation start → load event and first Leaflet layer, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    other: list[str] = []
    route = _router(html_path.read_bytes(), other)

    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats + 1):
                # bypass_csp: the page forbids eval, which wait_for_function needs
                context = browser.new_context(viewport={"width": 1280, "height": 800},
                                              bypass_csp=True)
                context.route("**/*", route)
                context.add_init_script(FIRST_LAYER_JS)
                page = context.new_page()
                page.goto(ORIGIN + "map.html", wait_until="load")
                page.wait_for_function("window.__benchFirstLayer !== undefined", timeout=30000)
                if page.evaluate("window.__geoReady !== undefined"):
                    page.wait_for_function("window.__geoReady", timeout=30000)
                samples.append(page.evaluate(RESULT_JS))
                context.close()
        finally:
            browser.close()
    warm = samples[1:]  # the first page pays for Chromium's own start-up caches
    first = [max(s["load_ms"], s["ready_ms"] or s["first_layer_ms"]) for s in warm]
    return {"runs": len(warm), "median_ms": statistics.median(first), "max_ms": max(first),
            "load_median_ms": statistics.median(s["load_ms"] for s in warm),
            "first_layer_median_ms": statistics.median(s["first_layer_ms"] for s in warm),
            "geo_ready_hook": warm[0]["ready"] is not None, "layers": warm[0]["layers"],
            "aborted_requests": sorted(set(other))}


LONGTASK_JS = """
window.__longTasks = [];
new PerformanceObserver(list => { for (const e of list.getEntries())
  window.__longTasks.push(e.duration); }).observe({type: 'longtask', buffered: true});
"""


def measure_phone(html_path: Path, repeats: int, throttle: float = 4.0) -> dict:
    """A cheap phone: 390×844, touch, CPU slowed ``throttle``× (CDP), tiles served locally.

    ready = navigation start → ``window.__geoReadyAt`` (map with its layers,
    legend, filters and the first screenful of the list built); list = navigation
    start → ``window.__geoListAt`` (every list row built, in short tasks after
    ready); longest task = the longest main-thread task (Long Tasks API,
    tasks ≥ 50 ms) from navigation to list + 500 ms; search = clearing a
    one-character search, input event to the next frame.
    """
    from playwright.sync_api import sync_playwright

    route = _router(html_path.read_bytes(), [])

    samples = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(repeats + 1):
                context = browser.new_context(viewport={"width": 390, "height": 844},
                                              has_touch=True, is_mobile=True, bypass_csp=True)
                context.route("**/*", route)
                context.add_init_script(LONGTASK_JS)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
                page.goto(ORIGIN + "map.html", wait_until="load")
                # pages without a lazy list (older builds) leave __geoList undefined
                page.wait_for_function("window.__geoReady === true && window.__geoList !== false",
                                       timeout=60000)
                page.wait_for_timeout(500)
                ready = page.evaluate("window.__geoReadyAt")
                listed = page.evaluate("window.__geoListAt || window.__geoReadyAt")
                longest = page.evaluate("Math.max(0, ...window.__longTasks)")
                search = page.evaluate("""() => new Promise(done => {
                    const q = document.getElementById('gm-q');
                    q.value = '桥'; q.dispatchEvent(new Event('input'));
                    requestAnimationFrame(() => setTimeout(() => {
                      const t0 = performance.now();
                      q.value = ''; q.dispatchEvent(new Event('input'));
                      requestAnimationFrame(() => done(performance.now() - t0)); }, 50)); })""")
                samples.append({"ready_ms": ready, "list_ms": listed, "longest_task_ms": longest,
                                "clear_search_ms": search})
                context.close()
        finally:
            browser.close()
    warm = samples[1:]
    return {"runs": len(warm), "throttle": throttle,
            "ready_median_ms": statistics.median(s["ready_ms"] for s in warm),
            "ready_max_ms": max(s["ready_ms"] for s in warm),
            "list_median_ms": statistics.median(s["list_ms"] for s in warm),
            "longest_task_median_ms": statistics.median(s["longest_task_ms"] for s in warm),
            "longest_task_max_ms": max(s["longest_task_ms"] for s in warm),
            "clear_search_median_ms": statistics.median(s["clear_search_ms"] for s in warm)}


# ----------------------------------------------------------------------------- profile


def profile_build(out: Path) -> str | None:
    """pyinstrument text profile of one in-process Ningbo build (if pyinstrument exists)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    from geo.pipeline import build

    profiler = Profiler(interval=0.001)
    with tempfile.TemporaryDirectory() as root:
        profiler.start()
        build(root=Path(root))
        profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    out.write_text(text, encoding="utf-8")
    return str(out)


# ----------------------------------------------------------------------------- report


def table(results: dict) -> str:
    """The human-readable table of the results."""
    f, e, s = results["floor"], results["e2e"], results["stages"]["median"]
    x, c = results["extraction"], results["corpus"]
    lines = ["| measure | value |", "|---|---|",
             f"| floor: import {FLOOR_IMPORTS[7:]} (fresh process) | "
             f"{f['wall_median_s']:.2f} s wall, {f['cpu_median_s']:.2f} s CPU |",
             f"| `geo build` Ningbo, fresh process | {e['wall_median_s']:.2f} s wall "
             f"({e['wall_median_s'] / f['wall_median_s']:.2f}x floor), "
             f"{e['cpu_median_s']:.2f} s CPU ({e['cpu_median_s'] / f['cpu_median_s']:.2f}x) |"]
    cold = results["stages"]["first"]
    lines += [f"| stage {name} | {s[name] * 1000:.0f} ms ({cold.get(name, 0) * 1000:.0f} ms) |"
              for name in STAGES]
    lines += [f"| stages total, in process: warm (first run) | {s['total'] * 1000:.0f} ms "
              f"({cold['total'] * 1000:.0f} ms) |",
              f"| extraction (read+parse+extract), {x['reports']} reports, {x['mb']:.1f} MB | "
              f"{x['mb_per_s']:.2f} MB/s; {x['cpu_s_per_100kb'] * 1000:.0f} ms CPU per 100 KB, "
              f"R² = {x['r2']:.3f} |",
              f"| {c['reports']} reports through run_stages (no writes) | {c['total_s']:.1f} s "
              "wall |",
              f"| cost vs size (min CPU s of {c['fit_repeats']} runs per report) | "
              f"{c['intercept_s'] * 1000:.0f} ms + "
              f"{c['s_per_100kb'] * 1000:.0f} ms per 100 KB, R² = {c['r2']:.3f} "
              f"(wall R² {c['r2_wall']:.3f}); log-log slope {c['exponent']:.2f} |"]
    if c["writes"]:
        lines.append(f"| write_outputs, {len(c['writes'])} corpus reports | "
                     f"median {c['write_median_s'] * 1000:.0f} ms |")
    lines += [f"| peak memory: bench process / fresh `geo build` | "
              f"{results['maxrss_mb']:.0f} MB / {e['maxrss_mb']:.0f} MB |",
              f"| maps/ningbo_2024.html | {results['html']['bytes'] / 1e3:.0f} KB "
              f"({results['html']['gzip_bytes'] / 1e3:.0f} KB gzip) |"]
    if "render" in results:
        r = results["render"]
        lines.append(f"| first render, headless Chromium | median {r['median_ms']:.0f} ms "
                     f"(load {r['load_median_ms']:.0f} ms, first layer "
                     f"{r['first_layer_median_ms']:.0f} ms), max {r['max_ms']:.0f} ms |")
    if "phone" in results:
        ph = results["phone"]
        lines.append(f"| phone 390×844, CPU {ph['throttle']:.0f}× slower: ready | median "
                     f"{ph['ready_median_ms']:.0f} ms, max {ph['ready_max_ms']:.0f} ms; longest "
                     f"task {ph['longest_task_max_ms']:.0f} ms; clearing the search "
                     f"{ph['clear_search_median_ms']:.0f} ms |")
    lines += ["", "| target | result |", "|---|---|"]
    for key, (text, _) in TARGETS.items():
        verdict = results["targets"].get(key)
        lines.append(f"| {text} | {'n/a' if verdict is None else 'PASS' if verdict else 'FAIL'} |")
    return "\n".join(lines)


def corpus_paths(quick: bool) -> list[Path]:
    paths = sorted(CORPUS.glob("report_*.txt"))
    if len(paths) < 100:
        from make_corpus import make_corpus

        paths = make_corpus(CORPUS)
    return paths[::10] if quick else paths


def measure_in_process(results: dict, scratch: Path, args: argparse.Namespace, repeats: int,
                       log) -> None:
    """Stages, extraction, corpus, HTML size and first render; outputs go to ``scratch``."""
    log("stages ...")
    results["stages"], root = measure_stages(repeats, scratch / "ningbo")
    paths = corpus_paths(args.quick)
    log(f"extraction over {len(paths)} reports ...")
    results["extraction"] = measure_extraction(paths)
    log("corpus through run_stages ...")
    results["corpus"] = measure_corpus(paths, write_every=20 if not args.quick else 5,
                                       out=scratch / "corpus",
                                       fit_repeats=1 if args.quick else 2)
    results["html"] = measure_html(root)
    if not args.no_browser and Path(CHROMIUM).exists():
        log("first render in Chromium ...")
        results["render"] = measure_render(root / "maps" / "ningbo_2024.html", repeats + 2)
        log("phone with 4x CPU throttling ...")
        results["phone"] = measure_phone(root / "maps" / "ningbo_2024.html", repeats + 2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="10 corpus reports, 1 repeat")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    p.add_argument("--profile", action="store_true", help="pyinstrument profile of one build")
    args = p.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "load_avg": os.getloadavg(), "platform": platform.platform()}}
    log("floor and geo build, alternated, in fresh processes ...")
    results["floor"], results["e2e"] = measure_floor_and_build(repeats + 2)
    with tempfile.TemporaryDirectory(prefix="geo-bench-") as scratch:
        measure_in_process(results, Path(scratch), args, repeats, log)
    results["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["targets"] = {key: check(results) for key, (_, check) in TARGETS.items()}
    if "render" not in results:
        for key in ("first_render", "phone_ready", "phone_long_task"):
            results["targets"][key] = None
    if results["corpus"]["reports"] < 100:  # --quick: not the 100-report target
        results["targets"]["corpus_100"] = None
    if args.profile:
        results["profile"] = profile_build(RESULTS / "profile.txt")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
