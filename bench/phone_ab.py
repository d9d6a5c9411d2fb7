"""Phone start-up, before against after: alternate two map pages, N runs each.

Runs :func:`run.measure_phone` (390×844, touch, CPU 4× slower, tiles served
locally) on page A then page B, N times, so both see the same machine load, and
prints the median ready time and the median and maximum longest task of each.

    git show REV:maps/ningbo_2024.html > /tmp/before.html
    python bench/phone_ab.py /tmp/before.html maps/ningbo_2024.html 5
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402


def main(argv: list[str]) -> int:
    before, after, n = Path(argv[0]), Path(argv[1]), int(argv[2]) if len(argv) > 2 else 5
    samples: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(n):
        for key, path in (("before", before), ("after", after)):
            samples[key].append(run.measure_phone(path, 1))
    for key, runs in samples.items():
        ready = [r["ready_median_ms"] for r in runs]
        longest = [r["longest_task_max_ms"] for r in runs]
        print(f"{key}: ready median {statistics.median(ready):.0f} ms "
              f"(runs {', '.join(f'{x:.0f}' for x in ready)}); longest task median "
              f"{statistics.median(longest):.0f} ms, max {max(longest):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
