"""Score the extractor on the real-style test texts, per text and pooled.

    python scripts/eval_realstyle.py                # the four development texts
    python scripts/eval_realstyle.py --heldout      # the two texts never tuned on

Also prints how many predicted mentions have no verb in scope (status ``other``).
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
    """Print figures for the development (default) or held-out (``--heldout``) texts."""
    suffix = "heldout" if "--heldout" in argv else ""
    texts = sorted(p for p in DATA.glob("realstyle_*.txt")
                   if (p.stem.endswith("_" + suffix) if suffix else "heldout" not in p.stem))
    gold_n = pred_n = tp = status_ok = other = 0
    for text in texts:
        mentions = extract(parse(read_report(text)))
        ev = evaluate(mentions, load_gold(text.with_name(text.stem + "_gold.csv")))
        print(f"{text.stem}: gold {ev.n_gold} pred {ev.n_pred} P {ev.precision:.3f} "
              f"R {ev.recall:.3f} status {ev.status_accuracy:.3f} "
              f"section {ev.section_accuracy:.3f}")
        gold_n, pred_n, tp = gold_n + ev.n_gold, pred_n + ev.n_pred, tp + ev.true_pos
        status_ok += round(ev.status_accuracy * ev.true_pos)
        other += int((mentions["status"] == "other").sum())
    print(f"pooled: gold {gold_n} pred {pred_n} P {tp / max(pred_n, 1):.3f} "
          f"R {tp / max(gold_n, 1):.3f} status {status_ok / max(tp, 1):.3f} "
          f"no verb in scope (other) {other}/{pred_n}")


if __name__ == "__main__":
    main(sys.argv[1:])
