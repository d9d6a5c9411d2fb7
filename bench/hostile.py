"""Blow-up benchmark: unpunctuated paragraphs and huge reports, built in fresh processes.

    python bench/hostile.py            # paragraphs 0.25-2 MB, reports 6.25-50 MB (~5 min)
    python bench/hostile.py --quick    # paragraphs only, up to 1 MB

Each case is a full ``geo build`` in a fresh process (``python -m geo build --root TMP``):
wall time, CPU time and peak RSS (``wait4``), and the bytes of every output.  Targets:
time linear in input size (least-squares R² >= 0.9 per family), peak RSS bounded
(< 2 GB at 50 MB), total output <= 10x the input bytes plus 5 MB (the fixed part: map
assets, GeoPackage tables and styles, ~3 MB for Ningbo).  Results go to
``bench/results/hostile.json`` and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NINGBO = ROOT / "data" / "raw" / "ningbo_2024.txt"
OUTPUT_FACTOR = 10.0
OUTPUT_FIXED = 5_000_000
RSS_LIMIT_MB = 2048
R2_TARGET = 0.9


def unpunctuated(chars: int) -> str:
    """A report whose review part is one paragraph of ``chars`` characters, no punctuation."""
    text = NINGBO.read_text(encoding="utf-8")
    body = re.sub(r"[\W_]", "", "".join(line for line in text.splitlines() if len(line) > 100))
    para = (body * (chars // len(body) + 1))[:chars]
    return ("一、2023年工作回顾\n" + para + "\n二、2024年主要目标任务\n"
            "加快建设六横公路大桥一期。\n")


def huge(megabytes: float) -> str:
    """The Ningbo report with its paragraphs repeated until the text has ``megabytes`` MB."""
    text = NINGBO.read_text(encoding="utf-8")
    paragraphs = "\n".join(line for line in text.split("二、", 1)[1].splitlines()
                           if len(line) > 60)
    copies = max(1, int(megabytes * 1_000_000) // len(paragraphs.encode("utf-8")))
    return text + "\n" + "\n".join([paragraphs] * copies) + "\n"


def build(text: str, scratch: Path, name: str) -> dict:
    """Build ``text`` in a fresh process; return input size, time, RSS and output size."""
    report = scratch / f"{name}.txt"
    report.write_text(text, encoding="utf-8")
    out = scratch / name
    cmd = [sys.executable, "-m", "geo", "build", str(report), "--city", "宁波市",
           "--name", name, "--root", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if status != 0:
        raise SystemExit(f"{name}: build failed\n{err}")
    outputs = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    biggest = max((p for p in out.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    return {"case": name, "input_bytes": report.stat().st_size, "wall_s": round(wall, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "output_bytes": outputs,
            "largest_output": f"{biggest.name} {biggest.stat().st_size / 1e6:.1f} MB"}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x; return (a, b, R²)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys) or 1.0
    return a, b, 1 - ss_res / ss_tot


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    paragraphs = [250_000, 500_000, 1_000_000] + ([] if args.quick else [2_000_000])
    reports = [] if args.quick else [6.25, 12.5, 25.0, 50.0]
    rows, families = [], {}
    with tempfile.TemporaryDirectory(prefix="geo-hostile-") as tmp:
        scratch = Path(tmp)
        for chars in paragraphs:
            rows.append(build(unpunctuated(chars), scratch, f"para_{chars // 1000}k"))
            families.setdefault("unpunctuated paragraph", []).append(rows[-1])
            print(rows[-1], file=sys.stderr, flush=True)
        for mb in reports:
            rows.append(build(huge(mb), scratch, f"report_{mb:g}mb"))
            families.setdefault("huge report", []).append(rows[-1])
            print(rows[-1], file=sys.stderr, flush=True)
    lines = ["| case | input | wall | CPU | peak RSS | output | output / input | largest |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['input_bytes'] / 1e6:.2f} MB | {r['wall_s']} s | "
                     f"{r['cpu_s']} s | {r['peak_rss_mb']} MB | {r['output_bytes'] / 1e6:.1f} MB"
                     f" | {r['output_bytes'] / r['input_bytes']:.1f}x | {r['largest_output']} |")
    verdicts = []
    for family, members in families.items():
        xs = [m["input_bytes"] / 1e6 for m in members]
        a, b, r2 = fit(xs, [m["cpu_s"] for m in members])
        worst = max((m["output_bytes"] - OUTPUT_FIXED) / m["input_bytes"] for m in members)
        rss = max(m["peak_rss_mb"] for m in members)
        verdicts.append({"family": family, "intercept_s": round(a, 2),
                         "s_per_mb": round(b, 2), "r2": round(r2, 3),
                         "max_output_factor": round(worst, 2),
                         "peak_rss_mb": rss, "bounded_rss": rss <= RSS_LIMIT_MB,
                         "linear": r2 >= R2_TARGET, "bounded_output": worst <= OUTPUT_FACTOR})
        lines.append("")
        lines.append(f"{family}: CPU = {a:.2f} s + {b:.2f} s/MB, R² = {r2:.3f} "
                     f"({'PASS' if r2 >= R2_TARGET else 'FAIL'} >= {R2_TARGET}); "
                     f"output - 5 MB <= {worst:.1f}x input "
                     f"({'PASS' if worst <= OUTPUT_FACTOR else 'FAIL'} <= {OUTPUT_FACTOR:g}x); "
                     f"peak RSS {rss} MB ({'PASS' if rss <= RSS_LIMIT_MB else 'FAIL'} <= "
                     f"{RSS_LIMIT_MB} MB)")
    print("\n".join(lines))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "hostile.json").write_text(json.dumps({"rows": rows, "fits": verdicts},
                                                     ensure_ascii=False, indent=1) + "\n")
    return 0 if all(v["linear"] and v["bounded_output"] and v["bounded_rss"]
                    for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
