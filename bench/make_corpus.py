"""Generate the benchmark corpus: 100 synthetic government work reports.

Each report recombines real paragraphs of data/raw/ningbo_2024.txt and
tests/data/wenzhou_sample.txt under the usual outline (一、review / 二、tasks /
三、government, with （一）… sections), renames places (宁波/温州 → another
Zhejiang city for half of the reports) and renumbers projects (N号线, N期), so the
extractor sees new names.  Sizes grow geometrically from 10 KB to 500 KB.
Deterministic: the same seed gives byte-identical files.

    python bench/make_corpus.py [--count 100] [--seed 2024] [--out bench/corpus]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (ROOT / "data" / "raw" / "ningbo_2024.txt",
           ROOT / "tests" / "data" / "wenzhou_sample.txt")
OUT = Path(__file__).resolve().parent / "corpus"

PART = re.compile(r"^[一二三四五六七八九十]+、")
SECTION = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
CITIES = ("宁波", "杭州", "温州", "绍兴", "嘉兴", "湖州", "金华", "台州", "丽水", "衢州", "舟山")
CN = "一二三四五六七八九"
ORDINALS = "一二三四五六七八九十"


def load_paragraphs() -> dict[str, list[str]]:
    """Body paragraphs and section titles of the sources, by part role (review / tasks)."""
    pools: dict[str, list[str]] = {"review": [], "tasks": [], "titles": []}
    for source in SOURCES:
        role = None
        for line in source.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if PART.match(line):
                role = "review" if "回顾" in line else "tasks" if "任务" in line else None
            elif SECTION.match(line):
                pools["titles"].append(SECTION.sub("", line).strip())
            elif role and len(line) > 60:
                pools[role].append(line)
    return pools


#: Place words inside project names, replaced per paragraph copy so that a longer
#: report names more distinct projects (cost should grow with the projects named,
#: not only with the bytes read).
PLACE_WORDS = ("甬", "鄞州", "海曙", "江北", "北仑", "镇海", "奉化", "余姚", "慈溪", "宁海",
               "象山", "梅山", "姚江", "瓯江", "鹿城", "龙湾", "瓯海", "三垟", "杭州湾")
PLACE_POOL = "东西南北中新华安平兴龙凤云山水湖江河泉林松竹梅兰桂荷溪塘桥港湾洲岭峰岩石"


def rename(text: str, city: str, rng: random.Random) -> str:
    """Move the text to ``city``, give its places new names, renumber lines and phases."""
    text = text.replace("宁波", city).replace("温州", city)
    for word in PLACE_WORDS:
        if word in text:
            text = text.replace(word, "".join(rng.choice(PLACE_POOL) for _ in word))
    text = re.sub(r"(\d{1,2})号线", lambda m: f"{rng.randint(1, 15)}号线", text)
    return re.sub(rf"([{CN}])期", lambda m: f"{rng.choice(CN[:4])}期", text)


def _sections(pool: list[str], titles: list[str], budget: int, rng: random.Random,
              city: str) -> list[str]:
    """Sections of paragraphs drawn (with replacement) until ``budget`` bytes."""
    lines: list[str] = []
    size, number = 0, 0
    while size < budget:
        title = f"（{ORDINALS[number % 10]}）{rng.choice(titles)}"
        lines.append(title)
        for _ in range(rng.randint(2, 5)):
            para = rename(rng.choice(pool), city, rng)
            lines.append(para)
            size += len(para.encode("utf-8"))
        size += len(title.encode("utf-8"))
        number += 1
    return lines


def make_report(index: int, target: int, pools: dict[str, list[str]], seed: int) -> str:
    """One report of about ``target`` bytes (UTF-8)."""
    rng = random.Random(f"{seed}-{index}")
    city = "宁波" if index % 2 == 0 else rng.choice(CITIES[1:])
    year = 2019 + index % 6
    body = max(target - 600, 2000)
    lines = ["各位代表：", "现在，我代表市人民政府向大会报告工作，请予审议。",
             f"一、{year - 1}年工作回顾",
             *_sections(pools["review"], pools["titles"], body * 2 // 5, rng, city),
             f"二、{year}年主要目标任务",
             *_sections(pools["tasks"], pools["titles"], body * 3 // 5, rng, city),
             "三、加强政府自身建设",
             "各位代表，让我们奋力开创高质量发展新局面！"]
    return "\n\n".join(lines) + "\n"


def sizes(count: int, low: int = 10_000, high: int = 500_000) -> list[int]:
    """Target sizes in bytes, geometric from ``low`` to ``high``."""
    if count == 1:
        return [low]
    ratio = (high / low) ** (1 / (count - 1))
    return [round(low * ratio**i) for i in range(count)]


def make_corpus(out: Path = OUT, count: int = 100, seed: int = 2024) -> list[Path]:
    """Write ``count`` reports to ``out`` (replacing old ``report_*.txt``); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("report_*.txt"):
        old.unlink()
    pools = load_paragraphs()
    paths = []
    for i, target in enumerate(sizes(count)):
        path = out / f"report_{i:03d}.txt"
        path.write_bytes(make_report(i, target, pools, seed).encode("utf-8"))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    paths = make_corpus(args.out, args.count, args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} reports, {total / 1e6:.1f} MB in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
