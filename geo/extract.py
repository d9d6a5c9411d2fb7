"""Find project mentions in a parsed report: names, kinds and statuses.

Extraction is by general patterns of Chinese infrastructure naming, never by a
list of this report's projects:

1. **Heads.**  A project name ends in a head word that gives its kind
   (…号线, …铁路, …高速复线, …大道, …水库, …医院, …博物馆 …) optionally
   followed by qualifiers (（机场路—鄞横线）, 二期, 西延, 改扩建, 新馆).
   The name extends left from the head over name characters until punctuation
   or a function word/verb (建成, 加快, 推进, 和, 等 …).
2. **Enumerations.**  Shared prefixes and suffixes are distributed:
   ``轨道交通6、7、8号线`` → three lines; ``市域铁路象山线、慈溪线`` → two;
   ``极氪、东方电缆等一批研发总部`` → two HQs; ``A医院和B医院宁波院区`` →
   two campuses; ``A、B等项目`` marks A and B as projects even without a head.
3. **Filters.**  Generic phrases (综合公园, 口袋公园30个), quoted programmes
   (“四好农村路”), operating statistics (…机场旅客吞吐量) and organisations
   acting (宁波大学通过…验收) are not projects.
4. **Status.**  The governing verb of each enumeration group: a split verb
   around it (加快…建设), a verb before it (开工建设X) or after it
   (X建成投用), planning markers after it (…等项目前期) first.

All word lists live in ``geo/resources/lexicon.json`` and
``geo/resources/status_vocabulary.json``; another city's wording is a data edit.
Regexes are linear (no nested quantifiers) so a 10 MB text is safe.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from . import resources
from .report import Document, Paragraph
from .schema import MENTIONS, MENTIONS_EXTRA

NAME_CHARS = r"\u4e00-\u9fffA-Za-z0-9０-９Ａ-Ｚａ-ｚ·—－\-"
_NAME_CHAR_RE = re.compile(f"[{NAME_CHARS}（）()]")
_CLAUSE_BREAK = "，,；;：:。！？!?"
_PLAIN_CLAUSE_RE = re.compile(f"[^{_CLAUSE_BREAK}]+")
_LIST_GAP_RE = re.compile(r"^(?:、|和|及|与|以及|，|,)?$")
#: A work-type word written once after a list item it is shared by (…改造工程、G524…).
_WORK_TYPE_RE = re.compile(r"^(?:快速化改造|改造提升|提升改造|改扩建|改建|扩建|扩容|整治|改造)?"
                           r"(?:工程|项目)?")
_COUNT_AFTER_RE = re.compile(r"^[0-9０-９.]+(?:[个家条所座项处]|公里|千米|米|平方米|公顷|万?亩)")
_COUNT_BEFORE_RE = re.compile(r"[0-9０-９]+[个家条所座项处]?$")


@dataclass(frozen=True)
class Lexicon:
    """Compiled word lists (see resources/lexicon.json)."""

    head_re: re.Pattern
    head_last_chars: frozenset[str]
    any_last_chars: frozenset[str]
    head_kind: dict[str, str]
    head_patterns: list[tuple[re.Pattern, str]]
    qualifier_re: re.Pattern
    stop_re: re.Pattern
    generic_re: re.Pattern
    line_list_re: re.Pattern
    numbered_line_re: re.Pattern
    coded_line_re: re.Pattern
    numbered_unit_re: re.Pattern
    unit_kind: dict[str, str]
    road_number_re: re.Pattern
    trigger_re: re.Pattern
    category_re: re.Pattern
    campus_re: re.Pattern
    blocked_followers: tuple[str, ...]
    bad_endings: tuple[str, ...]
    bare_ok: frozenset[str]
    self_naming: tuple[re.Pattern, ...]
    max_modifier: dict[str, int]
    not_followed_by: dict[str, str]
    min_modifier: dict[str, int]
    bare_never_kinds: frozenset[str]
    org_preceding_verbs: tuple[str, ...]
    designation_verbs: tuple[str, ...]
    org_kinds: frozenset[str]
    org_predicates: tuple[str, ...]
    keyword_kinds: dict[str, str]
    project_categories: frozenset[str]
    quotes: str
    line_prefix_kind: dict[str, str]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Compile the lexicon once."""
    raw = resources.load("lexicon")
    records = raw["heads"]
    heads: list[tuple[str, str]] = [(r["head"], r["kind"]) for r in records]
    literal = sorted((h for h, _ in heads if not _is_regex(h)), key=len, reverse=True)
    patterns = [(re.compile(h), k) for h, k in heads if _is_regex(h)]
    alternation = "|".join([_trie_regex(literal)] + [p.pattern for p, _ in patterns])
    # Status verbs are function words too: 续建温岭抽水蓄能电站 starts after 续建.
    verbs = [v["text"] for v in resources.load("status_vocabulary")["phrases"]]
    stop = sorted(set(raw["stopwords"]) | set(verbs), key=len, reverse=True)
    generic = sorted(raw["generic_modifiers"], key=len, reverse=True)
    prefixes = raw["line_prefixes"]
    prefix_alt = "|".join(re.escape(p) for p in sorted(prefixes, key=len, reverse=True))
    line_item = r"[A-Za-z0-9\u4e00-\u9fff]{1,4}?线(?:[一二三四五六七八九十]期)?"
    categories = sorted(set(raw["project_categories"]) | set(literal), key=len, reverse=True)
    return Lexicon(
        head_re=re.compile(alternation),
        head_last_chars=frozenset(_last_char(h) for h, _ in heads),
        # heads, plus the last characters of the list patterns (号线/机组/泊位/段/项目/工程)
        any_last_chars=frozenset(_last_char(h) for h, _ in heads) | frozenset("线组位段目程"),
        head_kind={h: k for h, k in heads},
        head_patterns=patterns,
        qualifier_re=re.compile(raw["qualifier_re"]),
        stop_re=re.compile("|".join(re.escape(s) for s in stop)),
        generic_re=re.compile("(?:" + "|".join(re.escape(g) for g in generic) + ")+"),
        line_list_re=re.compile(rf"({prefix_alt})({line_item}(?:、{line_item})*)"),
        coded_line_re=re.compile(r"(?<![A-Za-z0-9])((?:[A-Z]{1,2}[0-9]{1,2}、)*[A-Z]{1,2}[0-9]{1,2})"
                                 r"线((?:[一二三四五六七八九十]期)?)"),
        numbered_unit_re=re.compile(r"([A-Z]?[0-9]{1,3}(?:[、和][A-Z]?[0-9]{1,3})*)(号?)("
                                    + "|".join(map(re.escape, raw["numbered_units"])) + ")"),
        unit_kind=raw["numbered_units"],
        numbered_line_re=re.compile(
            rf"({prefix_alt})?([0-9]{{1,2}}(?:[、和][0-9]{{1,2}})*)号线"
            rf"((?:支线)?(?:[一二三四五六七八九十]期)?(?:[东西南北]延(?:伸)?(?:段)?)?)"),
        road_number_re=re.compile(raw["road_number_re"]),
        trigger_re=re.compile(r"号线|机组|泊位|[A-Z]{1,2}[0-9]{1,2}线|"
                              + raw["road_number_re"] + "|"
                              + "|".join(re.escape(c) for c in raw["project_categories"])),
        category_re=re.compile(
            r"(?:等(?:一批|[0-9０-９]+[个座家条处所项])?|[两三四五]大)([\u4e00-\u9fff]{0,4}?)("
            + "|".join(re.escape(c) for c in categories) + ")"),
        campus_re=re.compile("(?:" + "|".join(re.escape(c) for c in raw["campus_suffixes"]) + ")$"),
        blocked_followers=tuple(raw["blocked_followers"]),
        bad_endings=tuple(raw["bad_endings"]),
        bare_ok=frozenset(raw["bare_ok"]),
        self_naming=tuple(re.compile(r["head"]) for r in records if r.get("self_naming")),
        max_modifier=_head_constraint(records, "max_modifier"),
        not_followed_by=_head_constraint(records, "not_followed_by"),
        min_modifier=_head_constraint(records, "min_modifier"),
        bare_never_kinds=frozenset(raw["bare_never_kinds"]),
        org_preceding_verbs=tuple(raw["org_preceding_verbs"]),
        designation_verbs=tuple(raw["designation_verbs"]),
        org_kinds=frozenset(raw["organisation_kinds"]),
        org_predicates=tuple(raw["organisation_predicates"]),
        keyword_kinds=raw["keyword_kinds"],
        project_categories=frozenset(raw["project_categories"]),
        quotes=raw["programme_quote_chars"],
        line_prefix_kind=dict(prefixes),
    )


def _head_constraint(records: list[dict], field: str) -> dict:
    """``{head: value}`` of one optional field of the head records (min_modifier …)."""
    return {r["head"]: r[field] for r in records if field in r}


def _trie_regex(words: list[str]) -> str:
    """A regex matching any of ``words``, factored as a trie (公(?:园|路)…).

    Python's regex engine tries alternatives one by one at every position; sharing
    prefixes makes a search over ~200 head words several times faster.  Greedy
    optional tails keep the longest word at each position, as longest-first
    alternation did.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        end = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if end:
            return body + "?" if len(branches) == 1 and len(body) == 1 else f"(?:{body})?"
        return body

    return "(?:" + emit(trie) + ")"


def _last_char(head: str) -> str:
    """The character a head word ends with (lookaheads ignored): a clause without any
    of these characters cannot contain a head, which lets most clauses be skipped."""
    literal = re.sub(r"\(\?=[^)]*\)", "", head)
    if not literal or not (literal[-1].isalnum() or "\u4e00" <= literal[-1] <= "\u9fff"):
        raise ValueError(f"head {head!r} must end with a literal character")
    return literal[-1]


def _has_head(text: str, lex: Lexicon) -> bool:
    """Cheap test: could ``text`` contain a head word at all?"""
    return not lex.head_last_chars.isdisjoint(text) and lex.head_re.search(text) is not None


def _is_regex(head: str) -> bool:
    return any(ch in head for ch in "[](?|\\")


@dataclass(frozen=True)
class Vocabulary:
    """Status phrases (see resources/status_vocabulary.json)."""

    phrase_re: re.Pattern
    phrase_info: dict[str, tuple[str, str]]
    split: list[tuple[str, str, str]]
    planning_markers: tuple[str, ...]
    continuation: tuple[str, ...]
    respective: tuple[str, ...]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    raw = resources.load("status_vocabulary")
    phrases = sorted(raw["phrases"], key=lambda p: len(p["text"]), reverse=True)
    return Vocabulary(
        phrase_re=re.compile("|".join(re.escape(p["text"]) for p in phrases)),
        phrase_info={p["text"]: (p["status"], p["where"]) for p in phrases},
        split=[(s["head"], s["tail"], s["status"]) for s in raw["split"]],
        planning_markers=tuple(raw["planning_markers"]),
        continuation=tuple(raw.get("continuation_markers", ())),
        respective=tuple(raw.get("respective_markers", ())),
    )


# ----------------------------------------------------------------------------- candidates


@dataclass
class Phrase:
    start: int
    end: int
    text: str
    status: str
    where: str


@dataclass
class Candidate:
    """A project name found in a clause; offsets are absolute in the report text."""

    start: int
    end: int
    name: str
    kind: str
    strong: bool = True        # has a specific modifier (not a bare head)
    listed: bool = False       # an element of an explicit project list (A、B等项目)
    explicit: bool = False     # from an enumeration pattern (6、7、8号线): wins overlaps
    head_at: int = -1          # offset of the head word (head candidates only)
    status: str = "other"
    phrase: str = ""
    phrase_start: int = -1
    phrase_end: int = -1
    tag: Phrase | None = None  # a status written in brackets after the name (…（今年建成通车）)
    tag_end: int = -1          # end of that bracket (absolute)


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    text: str


_FULL_WIDTH = str.maketrans(
    {chr(c): chr(c - 0xFEE0) for r in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
     for c in range(r[0], r[1] + 1)})


def normalise_text(text: str) -> str:
    """Map full-width Latin letters and digits to ASCII, keeping Chinese punctuation.

    Full-width ＡＢＣ１２３ become ABC123; Chinese brackets, dashes and commas are kept
    so offsets line up (the mapping is one character to one character).
    """
    return text.translate(_FULL_WIDTH)


def split_clauses(text: str, offset: int) -> list[Clause]:
    """Split a sentence at top-level clause punctuation (not inside brackets or quotes)."""
    if not any(ch in text for ch in "（(“《"):
        return [Clause(offset + m.start(), offset + m.end(), m.group())
                for m in _PLAIN_CLAUSE_RE.finditer(text)]
    clauses: list[Clause] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "（(“《":
            depth += 1
        elif ch in "）)”》":
            depth = max(depth - 1, 0)
        elif ch in _CLAUSE_BREAK and depth == 0:
            if i > start:
                clauses.append(Clause(offset + start, offset + i, text[start:i]))
            start = i + 1
    if start < len(text):
        clauses.append(Clause(offset + start, offset + len(text), text[start:]))
    return clauses


def _left_boundary(text: str, head_start: int, lex: Lexicon) -> int:
    """Scan left from a head over name characters, then cut after the last stopword."""
    i = head_start
    depth = 0
    while i > 0:
        ch = text[i - 1]
        if ch in "）)":
            depth += 1
        elif ch in "（(":
            if depth == 0:
                break
            depth -= 1
        elif not _NAME_CHAR_RE.match(ch):
            break
        i -= 1
        if head_start - i > 30:
            break
    left = i
    span = text[left:head_start]
    cut = left
    for m in lex.stop_re.finditer(span):
        if len(m.group()) == 1 and head_start - (left + m.end()) == 1:
            continue  # 和平路: a one-character function word must not leave one character
        cut = left + m.end()
    count = re.search(r"[0-9０-９.]+[个家条所座项处万亿公里米]+", text[cut:head_start])
    if count:
        cut = cut + count.end()
    return cut


def _is_generic(modifier: str, lex: Lexicon) -> bool:
    return bool(lex.generic_re.fullmatch(modifier))


def _head_candidates(clause: Clause, lex: Lexicon) -> list[Candidate]:
    text = clause.text
    out: list[Candidate] = []
    for m in lex.head_re.finditer(text):
        head = m.group()
        kind = lex.head_kind.get(head) or _pattern_kind(head, lex)
        q = lex.qualifier_re.match(text, m.end())
        end = q.end() if q else m.end()
        if text[m.end():end].endswith("工程") and head.endswith("工程"):
            end = m.end()
        left = _left_boundary(text, m.start(), lex)
        modifier = text[left:m.start()]
        qualifier = text[m.end():end]
        limit = lex.max_modifier.get(head)
        if limit is not None and len(modifier) > limit:
            continue
        if modifier and len(modifier) < lex.min_modifier.get(head, 1):
            continue
        if text[end:end + 1] and text[end:end + 1] in lex.not_followed_by.get(head, ""):
            continue
        strong = bool(modifier) and not _is_generic(modifier, lex)
        if not modifier and (qualifier or head in lex.bare_ok
                             or any(p.fullmatch(head) for p in lex.self_naming)):
            strong = True
        if modifier and _is_generic(modifier, lex):
            continue
        if not modifier and not qualifier and kind in lex.bare_never_kinds:
            continue
        end, tag = _bracket_tag(text, m.end(), end, clause.start)
        name = text[left:end]
        out.append(Candidate(clause.start + left, clause.start + end, name, kind, strong,
                             head_at=clause.start + m.start(), tag=tag,
                             tag_end=tag.end + 1 if tag else -1))
    return out


_BRACKET_RE = re.compile(r"[（(]([^（）()]*)[）)]")


def _bracket_tag(text: str, head_end: int, end: int, offset: int) -> tuple[int, Phrase | None]:
    """``成自宜高铁（年内建成通车）``: a bracket after the name holding a status phrase is a
    status tag, not part of the name.  Returns the name's end (before the bracket) and
    the tag phrase (absolute offsets; ``end`` is the bracket content's end)."""
    vocab = vocabulary()
    for m in _BRACKET_RE.finditer(text, head_end, end):
        found = vocab.phrase_re.search(m.group(1))
        if found:
            status, where = vocab.phrase_info[found.group()]
            return m.start(), Phrase(offset + m.start(1) + found.start(),
                                     offset + m.start(1) + found.end(), found.group(),
                                     status, where)
    return end, None


def _pattern_kind(head: str, lex: Lexicon) -> str:
    for pattern, kind in lex.head_patterns:
        if pattern.match(head):
            return kind
    return "other"


def _line_list_candidates(clause: Clause, lex: Lexicon) -> list[Candidate]:
    """轨道交通6、7、8号线 and 市域铁路象山线、慈溪线: one candidate per line."""
    text = clause.text
    out: list[Candidate] = []
    for m in lex.numbered_line_re.finditer(text):
        prefix, numbers, tail = m.group(1) or "", m.group(2), m.group(3)
        kind = lex.line_prefix_kind.get(prefix, "metro")
        pos = m.start(2)
        items = re.split(r"([、和])", numbers)
        for idx in range(0, len(items), 2):
            num = items[idx]
            first, last = idx == 0, idx == len(items) - 1
            start = m.start() if first else pos
            end = m.end() if last else pos + len(num)
            name = f"{prefix}{num}号线" + (tail if last else "")
            out.append(Candidate(clause.start + start, clause.start + end, name, kind,
                                 explicit=True))
            pos += len(num) + (len(items[idx + 1]) if idx + 1 < len(items) else 0)
        tail_item = _LINE_TAIL_ITEM_RE.match(text, m.end())
        if tail_item:
            # …6号线二期、7号线北延和新港线等: a named line closing a numbered list
            out.append(Candidate(clause.start + tail_item.start(1), clause.start + tail_item.end(1),
                                 prefix + tail_item.group(1), kind, explicit=True))
    for m in lex.line_list_re.finditer(text):
        prefix = m.group(1)
        kind = lex.line_prefix_kind.get(prefix, "intercity_rail")
        pos = m.start(2)
        for idx, item in enumerate(m.group(2).split("、")):
            start = m.start() if idx == 0 else pos
            out.append(Candidate(clause.start + start, clause.start + pos + len(item),
                                 prefix + item, kind, explicit=True))
            pos += len(item) + 1
    for m in lex.coded_line_re.finditer(text):
        # S3、S4线 (after 市域铁路 when written): one line per code, the suffix shared
        prefix = next((p for p in lex.line_prefix_kind if text[:m.start()].endswith(p)), "")
        kind = lex.line_prefix_kind.get(prefix) or (
            "intercity_rail" if m.group(1).startswith("S") else "metro")
        pos = m.start(1)
        codes = m.group(1).split("、")
        for idx, code in enumerate(codes):
            last = idx == len(codes) - 1
            start = pos - (len(prefix) if idx == 0 else 0)
            end = m.end() if last else pos + len(code)
            name = f"{prefix}{code}线" + (m.group(2) if last else "")
            out.append(Candidate(clause.start + start, clause.start + end, name, kind,
                                 explicit=True))
            pos += len(code) + 1
    for m in lex.numbered_unit_re.finditer(text):
        # 三门核电3、4号机组, 头门港区3、4号泊位: the place before the numbers is shared
        left = _left_boundary(text, m.start(), lex)
        place = text[left:m.start()]
        if len(place) < 2:
            continue
        pos = m.start(1)
        numbers = re.split(r"[、和]", m.group(1))
        for idx, num in enumerate(numbers):
            last = idx == len(numbers) - 1
            start = left if idx == 0 else pos
            end = m.end() if last else pos + len(num)
            out.append(Candidate(clause.start + start, clause.start + end,
                                 f"{place}{num}{m.group(2)}{m.group(3)}",
                                 lex.unit_kind[m.group(3)], explicit=True))
            pos += len(num) + 1
    for m in lex.road_number_re.finditer(text):
        q = lex.qualifier_re.match(text, m.end())
        end = q.end() if q else m.end()
        out.append(Candidate(clause.start + m.start(), clause.start + end, text[m.start():end],
                             "road", explicit=True))
    return out


#: A named line (新港线) after the last numbered line of a list, ending the list.
_LINE_TAIL_ITEM_RE = re.compile(r"(?:、|和|及)([\u4e00-\u9fff]{2,3}线(?:[一二三四五六七八九十]期)?)"
                                r"(?=[、和及等，。；：]|建设|$)")


def _keyword_kind(name: str, lex: Lexicon, default: str) -> str:
    for word, kind in lex.keyword_kinds.items():
        if word in name:
            return kind
    return default


_PHASE_RE = re.compile(r"[一二三四五六七八九十0-9]+期$")
_MORE_PHASES_RE = re.compile(r"(?:、|和|及)([一二三四五六七八九十0-9]+期)")


def _phase_list_candidates(clause: Clause, found: list[Candidate]) -> list[Candidate]:
    """``…产业园一期、二期``: each further phase is a project sharing the name."""
    text = clause.text
    out: list[Candidate] = []
    for c in found:
        phase = _PHASE_RE.search(c.name)
        if not phase:
            continue
        base = c.name[: phase.start()]
        pos = c.end - clause.start
        while (m := _MORE_PHASES_RE.match(text, pos)) is not None:
            out.append(Candidate(clause.start + m.start(1), clause.start + m.end(1),
                                 base + m.group(1), c.kind, strong=c.strong))
            pos = m.end()
    return out


_BARE_ITEM_RE = re.compile(r"[\u4e00-\u9fff]{2,6}$")


def _shared_suffix_candidates(clause: Clause, found: list[Candidate],
                              lex: Lexicon) -> list[Candidate]:
    """``义乌江、武义江堤防``: bare names listed before a named project share its head.

    Only for a head candidate written as place + head (modifier of 2–6 characters)
    and list items of 2–6 Chinese characters that name nothing themselves.
    """
    text = clause.text
    out: list[Candidate] = []
    for c in found:
        if c.head_at < 0 or c.explicit or not 2 <= c.head_at - c.start <= 6:
            continue
        suffix = c.name[c.head_at - c.start:]
        pos = c.start - clause.start
        while pos > 0 and text[pos - 1] == "、":
            item_end = pos - 1
            item_start = _list_start(text, item_end, lex)
            item = text[item_start:item_end]
            if "、" in item:
                item_start = item_end - len(item.split("、")[-1])
                item = text[item_start:item_end]
            if (not _BARE_ITEM_RE.fullmatch(item) or lex.stop_re.search(item)
                    or _has_head(item, lex) or _is_generic(item, lex)
                    or any(o.start < clause.start + item_end and clause.start + item_start < o.end
                           for o in found)):
                break
            out.append(Candidate(clause.start + item_start, clause.start + item_end,
                                 item + suffix, c.kind, strong=True, listed=True))
            pos = item_start
    return out


def _category_candidates(clause: Clause, found: list[Candidate], lex: Lexicon) -> list[Candidate]:
    """Elements of ``A、B等项目`` / ``A、B两大商圈``: projects even without a head."""
    text = clause.text
    out: list[Candidate] = []
    for m in lex.category_re.finditer(text):
        # 零跑、吉利等一批整车生产基地: the words before the category word are shared too
        adjectives, category = m.group(1), m.group(2)
        distributive = category not in lex.project_categories and not m.group().startswith("等")
        distributive = distributive or (m.group().startswith("等一批")
                                        and category not in lex.project_categories)
        # 天河、花湖等机场: bare items before 等 + a head word share that head
        shared_head = m.group().startswith("等") and category not in lex.project_categories
        head_kind = lex.head_kind.get(category, "other")
        list_start = _list_start(text, m.start(), lex)
        pos = list_start
        for item in re.split(r"[、和]", text[list_start : m.start()]):
            istart, iend = pos, pos + len(item)
            pos = iend + 1
            short = len(re.sub(r"[一二三四五六七八九十0-9]+期$", "", item)) < 3
            if short and not distributive and not (shared_head and _BARE_SHORT_RE.fullmatch(item)
                                                    and not lex.stop_re.search(item)):
                continue
            abs_start, abs_end = clause.start + istart, clause.start + iend
            own = [c for c in found if c.start < abs_end and abs_start < c.end]
            if own and not distributive:
                for c in own:
                    c.listed = True
                continue
            if own and distributive:
                for c in own:
                    found.remove(c)
            name = item + adjectives + category if (
                distributive or m.group().startswith("等一批") or short) and \
                category not in lex.project_categories else item
            kind = head_kind if category not in lex.project_categories else \
                _keyword_kind(item, lex, "other")
            out.append(Candidate(abs_start, abs_end, name, kind, strong=True, listed=True))
        # the category word itself (…等综合公园, 两大商圈) is not a project
        cat_start = clause.start + m.start(1)
        found[:] = [c for c in found if not (clause.start + m.start() <= c.start
                                             < clause.start + m.end())
                    and not (c.start >= cat_start and c.end <= clause.start + m.end())]
    return out


#: A two-character bare list item (天河 in 天河、花湖等机场).
_BARE_SHORT_RE = re.compile(r"[\u4e00-\u9fff]{2}")


def _drop_contained(cands: list[Candidate]) -> list[Candidate]:
    """Keep the longest of overlapping candidates (ties: the earlier one).

    Greedy in priority order (explicit line-list elements first, then longer, then
    earlier); the kept spans are disjoint, so a bisect on their sorted starts finds
    the only neighbours a new span can overlap: O(n log n), not O(n²).
    """
    starts: list[int] = []
    kept: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (not c.explicit, -(c.end - c.start), c.start)):
        i = bisect.bisect_right(starts, c.start)
        if i > 0 and kept[i - 1].end > c.start:
            continue  # overlaps the kept span starting at or before it
        if i < len(kept) and kept[i].start < c.end:
            continue  # overlaps the kept span starting after it
        starts.insert(i, c.start)
        kept.insert(i, c)
    return kept


def _filter(cands: list[Candidate], clause: Clause, full: str, lex: Lexicon) -> list[Candidate]:
    out = []
    for c in cands:
        before = full[max(clause.start, c.start - 12): c.start]
        after = full[c.end: min(clause.end, c.end + 8)]
        if _inside_quotes(full, c, clause, lex):
            continue
        if c.name.endswith(lex.bad_endings) or len(c.name) < 2:
            continue
        if _blocked_after(full, c, clause, lex) or _designated(full, c, clause, lex):
            continue
        if _COUNT_AFTER_RE.match(after) and not c.listed:
            continue
        if _COUNT_BEFORE_RE.search(before) and not c.listed and not c.name[0].isdigit():
            continue
        out.append(c)
    return out


def _list_start(text: str, end: int, lex: Lexicon) -> int:
    """Start of an enumeration ending at ``end``: back over names and 、/和 to a verb."""
    i = end
    while i > 0 and (_NAME_CHAR_RE.match(text[i - 1]) or text[i - 1] in "、"):
        i -= 1
    cut = i
    for m in lex.stop_re.finditer(text, i, end):
        if len(m.group()) > 1:
            cut = m.end()
    return cut


def _blocked_after(full: str, c: Candidate, clause: Clause, lex: Lexicon) -> bool:
    """…机场旅客吞吐量, …枢纽自贸试验区提升战略: the name is part of a non-project phrase."""
    window = full[c.end: min(clause.end, c.end + 10)]
    hits = [window.find(w) for w in lex.blocked_followers if w in window]
    if not hits:
        return False
    first = min(hits)
    verb = vocabulary().phrase_re.search(window)
    pred = min((window.find(p) for p in lex.org_predicates + lex.designation_verbs
                if p in window), default=-1)
    verbs = [v for v in (verb.start() if verb else -1, pred) if v >= 0]
    return not verbs or min(verbs) > first


def _designated(full: str, c: Candidate, clause: Clause, lex: Lexicon) -> bool:
    """获批国家数字种业创新应用基地: a title conferred, not a project being built."""
    before = _DESIGNATION_FILLER_RE.sub("", full[clause.start: c.start])
    return before.endswith(lex.designation_verbs)


#: Words between a designation verb and the title it confers (获批全国唯一的…口岸).
_DESIGNATION_FILLER_RE = re.compile(r"(?:全国|全省|国内|省内)?(?:唯一|首个|首批|第一个)?的?$")


def _inside_quotes(full: str, c: Candidate, clause: Clause, lex: Lexicon) -> bool:
    opened = 0
    for ch in full[clause.start: c.start]:
        if ch in "“《「":
            opened += 1
        elif ch in "”》」":
            opened = max(opened - 1, 0)
    return opened > 0 or (c.start > 0 and full[c.start - 1] in "“《「\"")


def _groups(cands: list[Candidate], full: str) -> list[list[Candidate]]:
    """Group candidates joined by list separators (、 和 及 与 ，)."""
    groups: list[list[Candidate]] = []
    for c in cands:
        if groups:
            prev = groups[-1][-1]
            gap = full[max(prev.end, prev.tag_end): c.start]
            gap = _WORK_TYPE_RE.sub("", gap)
            if _LIST_GAP_RE.match(gap):
                groups[-1].append(c)
                continue
        groups.append([c])
    return groups


def _distribute_campus(group: list[Candidate], full: str, lex: Lexicon) -> None:
    """浙江大学…第一医院和邵逸夫医院宁波院区: the last element's campus suffix is shared."""
    m = lex.campus_re.search(group[-1].name)
    if not m or len(group) < 2:
        return
    if full[group[-2].end: group[-1].start] not in ("和", "及", "与", "以及"):
        return
    suffix = m.group()
    for c in group[:-1]:
        if c.kind == group[-1].kind and not lex.campus_re.search(c.name):
            c.name = c.name + suffix


# ----------------------------------------------------------------------------- status


def _phrases(clause: Clause, vocab: Vocabulary, cands: list[Candidate]) -> list[Phrase]:
    """Status phrases of a clause, ignoring words inside project names (…扩容改造完成)."""
    text = list(clause.text)
    for c in cands:
        for i in range(max(c.start, clause.start), min(max(c.end, c.tag_end), clause.end)):
            text[i - clause.start] = "□"
    out = []
    for m in vocab.phrase_re.finditer("".join(text)):
        status, where = vocab.phrase_info[m.group()]
        out.append(Phrase(clause.start + m.start(), clause.start + m.end(), m.group(), status,
                          where))
    return out


def _free(full: str, a: int, b: int, cands: list[Candidate]) -> bool:
    return not any(a <= c.start < b for c in cands)


#: How far after a list a planning marker (…等项目前期) still governs it.
PLANNING_MARKER_REACH = 14
#: Characters allowed between a verb and the name it governs directly (开工建设 X).
NEAR_VERB_GAP = 6
#: How far after a list a completion/start verb (…建成投用) still governs it.
POST_VERB_REACH = 12


def _assign_status(group: list[Candidate], clause: Clause, cands: list[Candidate],
                   phrases: list[Phrase], full: str, vocab: Vocabulary) -> None:
    gs, ge = group[0].start, group[-1].end
    status, text, ps, pe = "other", "", -1, -1
    after = full[ge: clause.end]
    marker = next((m for m in vocab.planning_markers if m in after[:PLANNING_MARKER_REACH]), None)
    pre = [p for p in phrases if p.end <= gs and p.where in ("pre", "both")]
    post = [p for p in phrases if p.start >= ge and p.where in ("post", "both")]
    near_pre = [p for p in pre if gs - p.end <= NEAR_VERB_GAP and _free(full, p.end, gs, cands)]
    if marker is not None:
        idx = ge + after.index(marker)
        status, text, ps, pe = "planning", marker, idx, idx + len(marker)
    else:
        found = _split_verb(group, clause, full, vocab, cands)
        if found:
            status, text, ps, pe = found
        elif near_pre:
            p = near_pre[-1]
            status, text, ps, pe = p.status, p.text, p.start, p.end
        elif post and post[0].start - ge <= POST_VERB_REACH and _free(full, ge, post[0].start,
                                                                     cands):
            p = post[0]
            status, text, ps, pe = p.status, p.text, p.start, p.end
        elif pre and _in_scope(pre[-1], gs, phrases):
            # the verb governs the whole enumeration up to the clause end
            # (提速实施A、B……以及C、D等项目): no other status phrase in between
            p = pre[-1]
            status, text, ps, pe = p.status, p.text, p.start, p.end
    respective = _respective_phrases(group, clause, phrases, full, vocab)
    for i, c in enumerate(group):
        c.status, c.phrase, c.phrase_start, c.phrase_end = status, text, ps, pe
        if respective:
            p = respective[i]
            c.status, c.phrase, c.phrase_start, c.phrase_end = p.status, p.text, p.start, p.end
        if c.tag is not None:
            c.status, c.phrase = c.tag.status, c.tag.text
            c.phrase_start, c.phrase_end = c.tag.start, c.tag.end


#: How far after a list ``分别`` may stand (A、B等骨干水源工程分别…).
RESPECTIVE_REACH = 10


def _respective_phrases(group: list[Candidate], clause: Clause, phrases: list[Phrase],
                        full: str, vocab: Vocabulary) -> list[Phrase]:
    """``A、B分别实现开工和建成``: after 分别, as many status phrases as list items are
    matched to the items in order.  Returns one phrase per item, or [] if the counts
    differ or no 分别 follows the list."""
    if len(group) < 2 or not vocab.respective:
        return []
    ge = group[-1].end
    window = full[ge: min(clause.end, ge + RESPECTIVE_REACH)]
    at = min((window.find(m) for m in vocab.respective if m in window), default=-1)
    if at < 0 or any(ge <= p.start < ge + at for p in phrases):
        return []
    after = [p for p in phrases if p.start >= ge + at]
    return after if len(after) == len(group) else []


def _in_scope(verb: Phrase, start: int, phrases: list[Phrase]) -> bool:
    """A verb before a name governs it when no other status phrase lies between."""
    return not any(verb.end <= p.start and p.end <= start for p in phrases if p is not verb)


#: Characters allowed between a list's last name and the tail of a split verb
#: (加快A、B改扩建建设), and after an ``等…`` category phrase (加快A、B等7个高铁项目建设).
SPLIT_TAIL = 8
SPLIT_TAIL_AFTER_CATEGORY = 16


def _split_verb(group, clause, full, vocab, cands):
    gs, ge = group[0].start, group[-1].end
    before = full[clause.start: gs]
    after = full[ge: clause.end]
    for head, tail, status in vocab.split:
        h = before.rfind(head)
        if h < 0 or len(before) - (h + len(head)) > 4:
            continue
        t = after.find(tail)
        window = SPLIT_TAIL_AFTER_CATEGORY if after.startswith("等") else SPLIT_TAIL
        if t < 0 or t > window or not _free(full, ge, ge + t, cands):
            continue
        return status, f"{head}…{tail}", clause.start + h, ge + t + len(tail)
    return None


def _is_organisation_acting(c: Candidate, full: str, clause: Clause, lex: Lexicon) -> bool:
    if c.kind not in lex.org_kinds or c.status != "other":
        return False
    after = full[c.end: clause.end]
    before = full[clause.start: c.start]
    return after.startswith(lex.org_predicates) or before.endswith(lex.org_preceding_verbs)


# ----------------------------------------------------------------------------- driver


def extract_clause(clause: Clause, full: str) -> list[Candidate]:
    """Find the project mentions of one clause, with status (pure)."""
    lex, vocab = lexicon(), vocabulary()
    if lex.any_last_chars.isdisjoint(clause.text):
        return []  # no head word and no list pattern can end in this clause
    if not _has_head(clause.text, lex) and lex.trigger_re.search(clause.text) is None:
        return []  # most clauses name no project: skip them cheaply
    cands = _line_list_candidates(clause, lex) + _head_candidates(clause, lex)
    cands = _drop_contained(cands)
    cands += _category_candidates(clause, cands, lex)
    cands = _drop_contained(cands)
    cands += _phase_list_candidates(clause, cands)
    cands = _filter(cands, clause, full, lex)
    cands = sorted(cands + _shared_suffix_candidates(clause, cands, lex), key=lambda c: c.start)
    groups = _groups(cands, full)
    phrases = _phrases(clause, vocab, cands)
    kept: list[Candidate] = []
    for group in groups:
        if not any(c.strong for c in group):
            continue
        _distribute_campus(group, full, lex)
        _assign_status(group, clause, cands, phrases, full, vocab)
        kept.extend(c for c in group if not _is_organisation_acting(c, full, clause, lex))
    return kept


def _merge_listless_clauses(clauses: list[Clause], full: str) -> list[Clause]:
    """Join a clause that names projects but has no verb with the next one.

    ``鄞州大道快速路（机场路—鄞横线），轨道交通6、7、8号线…提速建设``: the comma
    separates list items and the verb at the end governs both clauses.
    """
    lex, vocab = lexicon(), vocabulary()
    out: list[Clause] = []
    i = 0
    while i < len(clauses):
        cur = clauses[i]
        while i + 1 < len(clauses) and _has_head(cur.text, lex) \
                and not vocab.phrase_re.search(cur.text) \
                and _starts_with_name(clauses[i + 1].text, lex):
            nxt = clauses[i + 1]
            cur = Clause(cur.start, nxt.end, full[cur.start: nxt.end])
            i += 1
        out.append(cur)
        i += 1
    return out


def _starts_with_name(text: str, lex: Lexicon) -> bool:
    m = lex.head_re.search(text[:20])
    if not m:
        return False
    return lex.stop_re.search(text[: m.start()]) is None


def _clause_verb(clause: Clause, full: str, found: list[Candidate]) -> Candidate | None:
    """The status verb of a clause without projects of its own (推进13条（段）地铁建设):
    a pseudo-candidate carrying it, for a continuation clause (具体为A、B…) that follows."""
    if found:
        last = found[-1]
        return last if last.status != "other" else None
    for m in vocabulary().phrase_re.finditer(clause.text):
        status, _where = vocabulary().phrase_info[m.group()]
        return Candidate(clause.start, clause.start, "", "other", status=status,
                         phrase=m.group(), phrase_start=clause.start + m.start(),
                         phrase_end=clause.start + m.end())
    return None


def _continue_scope(found: list[Candidate], governing: Candidate) -> None:
    """Mentions of a ``具体为…`` clause without a verb of their own take the verb of
    the clause they specify."""
    for c in found:
        if c.status == "other":
            c.status, c.phrase = governing.status, governing.phrase
            c.phrase_start, c.phrase_end = governing.phrase_start, governing.phrase_end


def extract(doc: Document) -> pd.DataFrame:
    """Return the MENTIONS table (without project ids) for a parsed document."""
    full = normalise_text(doc.text)
    vocab = vocabulary()
    rows = []
    for para in doc.paragraphs:
        for sentence in para.sentences:
            clauses = _merge_listless_clauses(split_clauses(full[sentence.start: sentence.end],
                                                            sentence.start), full)
            governing: Candidate | None = None
            for clause in clauses:
                found = extract_clause(clause, full)
                if governing is not None and clause.text.lstrip().startswith(vocab.continuation):
                    _continue_scope(found, governing)
                for c in found:
                    rows.append(_row(doc, para, sentence, c))
                governing = _clause_verb(clause, full, found) or governing
    frame = pd.DataFrame(rows, columns=[c for c in MENTIONS if c != "mention_id"] + MENTIONS_EXTRA)
    frame = frame.sort_values(["start", "end"], kind="stable").reset_index(drop=True)
    frame.insert(0, "mention_id", [f"M{i + 1:04d}" for i in range(len(frame))])
    return frame


def _row(doc: Document, para: Paragraph, sentence, c: Candidate) -> dict:
    part = doc.parts[para.part_index] if para.part_index >= 0 else None
    section = doc.sections[para.section_index] if para.section_index >= 0 else None
    return {
        "project_id": "",
        "name": c.name,
        "kind": c.kind,
        "status": c.status,
        "status_phrase": c.phrase,
        "part": part.role if part else "other",
        "section": section.number if section else "",
        "section_title": section.title if section else "",
        "lead": para.lead,
        "quote": sentence.text.strip(),
        "start": c.start,
        "end": c.end,
        "year": part.year if part else doc.report_year,
        "section_id": doc.section_id(para.part_index, para.section_index),
        "quote_start": sentence.start,
        "status_start": c.phrase_start,
        "status_end": c.phrase_end,
    }


__all__ = ["extract", "extract_clause", "split_clauses", "normalise_text", "Candidate"]
