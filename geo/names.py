"""Name keys and fuzzy matching of project names (pure; no network).

Used by the gazetteer matcher (:mod:`geo.geocode`), the project resolver
(:mod:`geo.resolve`) and the OpenStreetMap look-ups (:mod:`geo.online`), so a
report name, a gazetteer name and an OSM name are compared the same way.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

from . import settings

#: A name may lack a prefix of up to MAX_PREFIX_CHARS characters (a district such as
#: 镇海, 鄞州区) if it keeps at least MIN_CONTAINED_CHARS characters.
MAX_PREFIX_CHARS = 3
MIN_CONTAINED_CHARS = 4

_SUFFIXES = ("建设工程", "工程项目", "项目", "工程", "建设")
_ALIASES = (("城市轨道交通", "轨道交通"), ("地铁", "轨道交通"))
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"([零一二两三四五六七八九十]+)(?=号线|期|号)")
_PHASE = re.compile(r"(\d+)期")
_NUMBER = re.compile(r"\d+")



def _cn_to_int(text: str) -> int:
    """Convert a Chinese numeral below 100 (一, 十二, 二十, 三十五) to an int."""
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    tens, _, units = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _strip_affixes(key: str, prefixes: Sequence[str]) -> str:
    """Remove leading city names and trailing 项目/工程/建设 words, repeatedly."""
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if prefix and key.startswith(prefix) and len(key) > len(prefix):
                key, changed = key[len(prefix):], True
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


def city_prefixes(city: str) -> tuple[str, ...]:
    """Return the prefixes stripped from names for ``city``: ('宁波市', '宁波')."""
    city = unicodedata.normalize("NFKC", city).strip()
    short = city[:-1] if city.endswith("市") and len(city) > 2 else city
    return tuple(dict.fromkeys((city, short)))


def normalize_name(name: str, prefixes: Sequence[str] = ()) -> str:
    """Return the comparison key of a name.

    NFKC, lower case, no spaces or punctuation, Chinese numbers before
    号线/号/期 as digits, 地铁 → 轨道交通, then city prefixes and 项目/工程/建设
    suffixes stripped.  ``normalize_name('宁波市地铁六号线一期工程', ('宁波市', '宁波'))``
    is ``'轨道交通6号线1期'``.
    """
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")
    text = _CN_NUMBER.sub(lambda m: str(_cn_to_int(m.group(1))), text)
    for old, new in _ALIASES:
        text = text.replace(old, new)
    return _strip_affixes(text, prefixes)


@functools.lru_cache(maxsize=65536)
def _parts(key: str) -> tuple[str, frozenset[str], tuple[str, ...]]:
    """Split a key into (base without phases, phase numbers, other numbers)."""
    phases = frozenset(_PHASE.findall(key))
    base = _strip_affixes(_PHASE.sub("", key), ())
    return base, phases, tuple(_NUMBER.findall(base))


def match_score(key_a: str, key_b: str, threshold: float | None = None) -> float | None:
    """Return the similarity (1.0 = same key) of two normalised names, or None if no match.

    Numbers (line numbers …) must be equal; phases (一期 …) must be equal when both
    names carry one.  A phase on one side only is allowed but keeps the score
    below 1 (the reviewer decides).  Then the names without phases must either
    differ by a short district prefix only (西大河公园 / 镇海西大河公园) or reach a
    difflib ratio of ``threshold`` (default ``settings.fuzzy_threshold``).  The
    score is the ratio of the full names, below 1 unless they are equal.
    """
    if not key_a or not key_b:
        return None
    if key_a == key_b:
        return 1.0
    base_a, phases_a, numbers_a = _parts(key_a)
    base_b, phases_b, numbers_b = _parts(key_b)
    if numbers_a != numbers_b or (phases_a and phases_b and phases_a != phases_b):
        return None
    limit = settings.fuzzy_threshold if threshold is None else threshold
    if not (_district_prefixed(base_a, base_b) or _similar(base_a, base_b, limit)):
        return None
    return min(round(difflib.SequenceMatcher(None, key_a, key_b).ratio(), 3), 0.999)


@functools.lru_cache(maxsize=65536)
def _counts(text: str) -> Counter[str]:
    return Counter(text)


def _similar(base_a: str, base_b: str, limit: float) -> bool:
    """True if difflib's ratio of the two names reaches ``limit`` (cheap upper bounds first)."""
    total = len(base_a) + len(base_b)
    if total == 0 or 2 * min(len(base_a), len(base_b)) < limit * total:
        return False
    if 2 * sum((_counts(base_a) & _counts(base_b)).values()) < limit * total:
        return False
    return difflib.SequenceMatcher(None, base_a, base_b, autojunk=False).ratio() >= limit


def _district_prefixed(base_a: str, base_b: str) -> bool:
    """True if one name is the other with a short (district) prefix: 西大河公园 / 镇海西大河公园."""
    short, long = sorted((base_a, base_b), key=len)
    return (len(short) >= MIN_CONTAINED_CHARS and long.endswith(short)
            and len(long) - len(short) <= MAX_PREFIX_CHARS)


def shortlister(keys: list[str]) -> Callable[[str], list[int]]:
    """Return a function giving the positions of the keys that could match a query key.

    A key can only match if its name without phases shares enough characters
    with the query's: at least the shorter name (district prefix rule) or the
    ``2 * common >= threshold * total`` bound of difflib's ratio.  Counting
    shared characters through a character index avoids comparing every pair.
    """
    by_char: dict[str, list[int]] = {}
    bases = [_parts(k)[0] for k in keys]
    for n, base in enumerate(bases):
        for char in set(base):
            by_char.setdefault(char, []).append(n)

    def shortlist(key: str) -> list[int]:
        base = _parts(key)[0]
        shared: Counter[int] = Counter()
        for char, count in _counts(base).items():
            for n in by_char.get(char, ()):
                shared[n] += count
        limit = settings.fuzzy_threshold
        return [n for n in sorted(shared) if shared[n] >= min(len(base), len(bases[n]))
                or 2 * shared[n] >= limit * (len(base) + len(bases[n]))]

    return shortlist
