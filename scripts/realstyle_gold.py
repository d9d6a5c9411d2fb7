"""Turn the marked-up real-style test texts into a report text and a gold CSV.

Each ``tests/data/realstyle/NAME.md`` is report-style text in which every gold
mention is written ``{written|kind|status}`` or ``{written|kind|status|full name}``
(the full name when an enumeration shares a prefix or head that is not written
next to the item).  Part and section come from the headings as annotated by hand:
a line ``一、…回顾`` opens the review part, ``二、…工作安排/重点工作/重点任务`` the
tasks part, ``（一）`` a section.  Writes ``tests/data/realstyle_NAME.txt`` and
``tests/data/realstyle_NAME_gold.csv`` (columns of ``geo.evaluate.GOLD_COLUMNS``).

    python scripts/realstyle_gold.py
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
MARK = re.compile(r"\{([^{}|]+)\|([a-z_]+)\|([a-z_]+)(?:\|([^{}|]+))?\}")
PART = re.compile(r"^[一二三四五六七八九十]+、(.*)$")
SECTION = re.compile(r"^（([一二三四五六七八九十]+)）")


def _part(title: str) -> str:
    if "回顾" in title:
        return "review"
    if re.search("工作安排|重点工作|重点任务|目标任务", title):
        return "tasks"
    return "other"


def convert(src: Path) -> tuple[str, list[dict]]:
    """Return the plain text and its gold rows."""
    text, rows = "", []
    part, section = "other", ""
    for line in src.read_text("utf-8").splitlines(keepends=True):
        stripped = line.strip()
        if (m := PART.match(stripped)) and "{" not in stripped:
            part, section = _part(m.group(1)), ""
        elif (m := SECTION.match(stripped)) and "{" not in stripped:
            section = m.group(1)
        pos = 0
        for m in MARK.finditer(line):
            text += line[pos:m.start()]
            written, kind, status, full = m.groups()
            rows.append({"name": full or written, "kind": kind, "status": status, "part": part,
                         "section": section, "start": len(text),
                         "end": len(text) + len(written), "note": ""})
            text += written
            pos = m.end()
        text += line[pos:]
    return text, rows


def main() -> None:
    for src in sorted((DATA / "realstyle").glob("*.md")):
        text, rows = convert(src)
        stem = f"realstyle_{src.stem}"
        (DATA / f"{stem}.txt").write_text(text, "utf-8")
        with open(DATA / f"{stem}_gold.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"{stem}: {len(rows)} mentions")


if __name__ == "__main__":
    main()
