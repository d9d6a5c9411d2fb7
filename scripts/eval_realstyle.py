"""Score the extractor on the real-style test texts, pooled and per text.

    python scripts/eval_realstyle.py                # the development texts
    python scripts/eval_realstyle.py --heldout      # the two texts kept unseen
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's geo

from geo.evaluate import evaluate, load_gold  # noqa: E402
from geo.extract import extract  # noqa: E402
from geo.report import parse, read_report  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main(argv: list[str]) -> None:
    heldout = "--heldout" in argv
    texts = sorted(p for p in DATA.glob("realstyle_*.txt") if ("heldout" in p.stem) == heldout)
    gold_n = pred_n = tp = status_ok = 0
    for text in texts:
        ev = evaluate(extract(parse(read_report(text))), load_gold(text.with_name(text.stem + "_gold.csv")))
        print(f"{text.stem}: gold {ev.n_gold} pred {ev.n_pred} P {ev.precision:.3f} "
              f"R {ev.recall:.3f} status {ev.status_accuracy:.3f} section {ev.section_accuracy:.3f}")
        gold_n, pred_n, tp = gold_n + ev.n_gold, pred_n + ev.n_pred, tp + ev.true_pos
        status_ok += round(ev.status_accuracy * ev.true_pos)
    print(f"pooled: gold {gold_n} pred {pred_n} P {tp / max(pred_n, 1):.3f} "
          f"R {tp / max(gold_n, 1):.3f} status {status_ok / max(tp, 1):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
