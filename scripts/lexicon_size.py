"""Count the entries of lexicon.json and status_vocabulary.json (issue 14).

    python scripts/lexicon_size.py [ROOT]     # ROOT: a checkout (default: this one)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: Keys that are not word lists (regexes, notes, per-head constraints of the old layout).
SKIP = {"_about", "heads", "min_modifier", "max_modifier", "not_followed_by",
        "self_naming_heads", "qualifier_re", "road_number_re", "programme_quote_chars"}


def main(root: Path) -> None:
    """Print head count, other word entries and status vocabulary entries."""
    res = root / "geo" / "resources"
    lex = json.loads((res / "lexicon.json").read_text("utf-8"))
    voc = json.loads((res / "status_vocabulary.json").read_text("utf-8"))
    raw = lex["heads"]
    heads = len(raw) if isinstance(raw, list) else sum(len(v) for v in raw.values())
    other = sum(len(v) for k, v in lex.items() if k not in SKIP)
    vocab = sum(len(v) for k, v in voc.items() if k != "_about")
    print(f"heads {heads} + other word entries {other} = lexicon {heads + other}; "
          f"status vocabulary {vocab}; total {heads + other + vocab}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
