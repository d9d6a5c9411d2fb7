"""Read and parse a government work report into parts, sections, paragraphs, sentences.

Pure core: :func:`parse` takes the decoded text and returns a :class:`Document`
whose every element carries character offsets into that text, so a mention can
always be traced back to where it was said.  I/O edge: :func:`read_report`
decodes bytes (UTF-8, UTF-16 with BOM, or GB18030/GBK) and rejects empty,
binary or truncated input with a message naming the file and the fix.

Structure recognised (Chinese reports are regular, but not identical):

* parts: ``一、2023年工作回顾`` (also ``一 标题``, ``1、标题``, ``第一部分 标题``);
  the part's role (review / tasks / other) comes from the heading's meaning;
* sections: ``（一）标题`` (also half-width brackets, ``(1)``);
* paragraphs: one per non-empty line; a short first sentence with no comma
  (``加快市域交通畅联。``) is the paragraph's lead phrase;
* sentences end at 。！？ (and at the end of a line).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import ReportError
from .schema import SECTIONS

log = logging.getLogger(__name__)

CN_NUMERALS = "零一二三四五六七八九十"
_NUM = r"[一二三四五六七八九十]{1,3}"
_HEADING_MAX = 40

PART_RE = re.compile(
    rf"^\s*(?:第(?P<n1>{_NUM})部分|(?P<n2>{_NUM})|(?P<n3>\d{{1,2}}))(?:\s*[、．.，,：:]\s*|\s+)(?P<title>\S.*?)\s*$"
)
SECTION_RE = re.compile(rf"^\s*[（(]\s*(?P<n>{_NUM}|\d{{1,2}})\s*[）)]\s*(?P<title>\S.*?)\s*$")
SENTENCE_END = "。！？!?"
YEAR_RE = re.compile(r"(?<!\d)(19|20)\d{2}(?=年)")

REVIEW_CUES = ("回顾", "工作总结", "过去一年", "过去五年", "上年工作", "去年工作", "工作成绩")
TASKS_CUES = ("目标任务", "工作安排", "主要任务", "重点工作", "工作任务", "总体要求", "工作建议",
              "目标和任务", "今年工作", "主要目标")


def arabic_to_cn(number: int) -> str:
    """Convert 1..99 to a Chinese numeral (1 → 一, 10 → 十, 12 → 十二)."""
    if number <= 10:
        return CN_NUMERALS[number]
    tens, units = divmod(number, 10)
    return (CN_NUMERALS[tens] if tens > 1 else "") + "十" + (CN_NUMERALS[units] if units else "")


# ----------------------------------------------------------------------------- reading


def decode_report(data: bytes, path: Path | str = "<report>") -> str:
    """Decode report bytes to text with LF newlines (as ``Path.read_text`` would).

    Tries UTF-8 (with or without BOM), UTF-16 (with a BOM, or recognised without one),
    then GB18030 (a superset of GBK and GB2312, common for Chinese government
    documents).  Raises :class:`ReportError` for empty, binary or undecodable input,
    for Big5 (traditional Chinese; GB18030 would silently turn it into gibberish), and
    for damaged UTF-8, naming the byte offset and line of the first bad byte.
    """
    if not data.strip():
        raise ReportError("the report is empty", path=path,
                          fix="pass the text of a government work report")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReportError(f"the report starts with a UTF-16 mark but is not valid UTF-16 "
                              f"(byte {exc.start})", path=path,
                              fix="save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)") from exc
    else:
        text = _decode_without_bom(data, path)
    if "\x00" in text or _control_ratio(text) > 0.01:
        raise ReportError("the report looks binary (control characters), not text", path=path,
                          fix="pass a plain-text .txt export of the report")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _cjk_count(text) < 20:
        raise ReportError("the report contains almost no Chinese text", path=path,
                          fix="pass the Chinese text of a government work report")
    return text


def _decode_without_bom(data: bytes, path: Path | str) -> str:
    """UTF-8, BOM-less UTF-16, or GB18030; refuse Big5, damaged UTF-8 and binary data."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if b"\x00" in data[:4096]:
        raise ReportError("the report looks binary (NUL bytes), not text", path=path,
                          fix="pass a plain-text .txt export of the report")
    if _mostly_utf8(data):
        offset = utf8_error.start
        line = data[:offset].count(b"\n") + 1
        what = ("ends in the middle of a character (truncated?)"
                if utf8_error.reason == "unexpected end of data"
                else f"has an invalid UTF-8 byte 0x{data[offset]:02x}")
        raise ReportError(f"the report is UTF-8 but {what} at byte {offset}", path=path,
                          line=line, fix="restore the file from its source, or repair that line "
                                         "(iconv -c -f UTF-8 -t UTF-8 drops bad bytes)")
    try:
        gb = data.decode("gb18030")
    except UnicodeDecodeError:
        gb = None
    if gb is not None and _common_han_share(gb) >= 0.8:
        return gb
    if _looks_big5(data):
        raise ReportError("the report looks like Big5 (traditional Chinese), which is not read",
                          path=path, fix="convert it: iconv -f BIG5 -t UTF-8 (and to simplified "
                                         "characters, e.g. opencc -c t2s)")
    if gb is not None:
        return gb
    raise ReportError("the report is neither UTF-8 nor GB18030/GBK text", path=path,
                      fix="save it as UTF-8 (e.g. iconv -f <encoding> -t UTF-8)")


def _utf16_without_bom(data: bytes) -> str | None:
    """The text if ``data`` is plausibly UTF-16 (LE or BE) without a BOM, else None."""
    if len(data) % 2:
        return None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:4000]
        plain = sum(1 for ch in sample if ch in "\n\r\t" or " " <= ch <= "~"
                    or "\u3000" <= ch <= "\u303f" or "\u4e00" <= ch <= "\u9fff"
                    or "\uff00" <= ch <= "\uffef")
        if sample and plain / len(sample) > 0.95 and _cjk_count(sample) > len(sample) / 4:
            return text
    return None


def _mostly_utf8(data: bytes) -> bool:
    """True when nearly all multi-byte sequences are valid UTF-8 (so the file is damaged UTF-8)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return _cjk_count(text) >= 20 and bad <= max(3, _cjk_count(text) // 100)


def _common_han_share(text: str) -> float:
    """Share of non-ASCII characters that are GB2312 level-1 hanzi or common punctuation.

    Simplified Chinese in GBK/GB18030 is almost all level-1 (the 3,755 most common
    characters); Big5 bytes decoded as GBK give kana, Greek, box drawing and rare
    characters instead.
    """
    chars = [ch for ch in text if ord(ch) > 127]
    if not chars:
        return 1.0
    common = 0
    for ch in chars:
        try:
            code = ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 0xB0 <= code[0] <= 0xD7 or code[0] in (0xA1, 0xA3)
    return common / len(chars)


def _looks_big5(data: bytes) -> bool:
    """True when ``data`` decodes as Big5 into mostly Chinese characters."""
    try:
        text = data.decode("big5")
    except UnicodeDecodeError:
        return False
    chars = [ch for ch in text if ord(ch) > 127]
    han = sum(1 for ch in chars if "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
              or "\uff00" <= ch <= "\uffef")
    return bool(chars) and han / len(chars) > 0.95


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # below 32, except \t \n \r
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]+")


def _control_ratio(text: str) -> float:
    return len(_CONTROL.findall(text)) / max(len(text), 1)


def _cjk_count(text: str) -> int:
    return len(_NOT_CJK.sub("", text))


def read_report(path: Path) -> str:
    """Read and decode the report at ``path``; see :func:`decode_report`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ReportError("report file not found", path=path,
                          fix="check the path (or run `geo build` without one)") from exc
    except OSError as exc:
        raise ReportError(f"cannot read the report ({exc.strerror})", path=path) from exc
    return decode_report(data, path)


# ----------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text and character offsets in the decoded report."""
    start: int
    end: int
    text: str


@dataclass
class Paragraph:
    """One paragraph with its sentences and the part and section it belongs to."""
    start: int
    end: int
    text: str
    line: int                 # 1-based line number in the text
    part_index: int           # index into Document.parts, -1 for the preamble
    section_index: int        # index into Document.sections, -1 when none
    lead: str = ""
    sentences: list[Sentence] = field(default_factory=list)


@dataclass
class Part:
    """A top-level part of the report (review, tasks or other)."""
    number: str               # 一, 二 …
    title: str
    role: str                 # review | tasks | other
    start: int
    end: int = -1
    year: int | None = None


@dataclass
class Section:
    """A （一）-level section inside a part."""
    number: str               # 一 … 十
    title: str
    part_index: int
    start: int
    end: int = -1


@dataclass
class Document:
    """A parsed report: parts, sections, paragraphs and parse warnings."""
    text: str
    parts: list[Part]
    sections: list[Section]
    paragraphs: list[Paragraph]
    report_year: int | None
    warnings: list[str] = field(default_factory=list)
    _ordinals: list[int] | None = field(default=None, repr=False)

    def sections_table(self) -> pd.DataFrame:
        """The report's outline as a SECTIONS table (one row per part and section)."""
        rows = []
        for pi, part in enumerate(self.parts):
            rows.append({"section_id": f"{pi + 1}", "part": part.role, "part_no": part.number,
                         "part_title": part.title, "section": "", "section_title": "",
                         "year": part.year, "start": part.start, "end": part.end})
            for si, sec in enumerate(self.sections):
                if sec.part_index == pi:
                    rows.append({"section_id": self.section_id(pi, si), "part": part.role,
                                 "part_no": part.number, "part_title": part.title,
                                 "section": sec.number, "section_title": sec.title,
                                 "year": part.year, "start": sec.start, "end": sec.end})
        frame = pd.DataFrame(rows, columns=SECTIONS)
        frame["year"] = frame["year"].astype("Int64")
        return frame

    def section_id(self, part_index: int, section_index: int) -> str:
        """Stable key of a part ("2") or section ("2.7"), "0" for the preamble."""
        if part_index < 0:
            return "0"
        if section_index < 0:
            return f"{part_index + 1}"
        if self._ordinals is None:
            self._ordinals = [_section_ordinal(self.sections, i)
                              for i in range(len(self.sections))]
        return f"{part_index + 1}.{self._ordinals[section_index]}"


def _section_ordinal(sections: list[Section], index: int) -> int:
    """1-based position of a section within its part."""
    part = sections[index].part_index
    return sum(1 for s in sections[: index + 1] if s.part_index == part)


def part_role(title: str) -> str:
    """Classify a part heading by meaning: ``review``, ``tasks`` or ``other``."""
    if any(cue in title for cue in REVIEW_CUES):
        return "review"
    if any(cue in title for cue in TASKS_CUES):
        return "tasks"
    return "other"


def _is_heading_title(title: str) -> bool:
    return (0 < len(title) <= _HEADING_MAX and title[-1] not in "。；;！？，,：:"
            and "。" not in title)


def _lines(text: str):
    pos = 0
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, pos, line
        pos += len(line) + 1


#: Longest sentence kept whole.  Real reports stay under ~300 characters; a longer run
#: without 。！？ (hostile or broken input) is cut into windows of at most this size so
#: that extraction cost and each mention's stored quote stay bounded.
MAX_SENTENCE = 400
#: Size of the windows an over-long sentence is cut into.
WINDOW = 160
_WINDOW_BREAKS = "；;，,、：:"


def split_sentences(text: str, offset: int) -> list[Sentence]:
    """Split a paragraph into sentences ending at 。！？ (offsets are absolute).

    A sentence longer than :data:`MAX_SENTENCE` is cut into windows of :data:`WINDOW`
    characters at the last clause mark (；，、：) in each, or at the window's end; the
    windows keep absolute offsets, so the text they come from is always recoverable.
    """
    out: list[Sentence] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_END:
            out.extend(_windows(text, start, i + 1, offset))
            start = i + 1
    if start < len(text) and text[start:].strip():
        out.extend(_windows(text, start, len(text), offset))
    return out


def _windows(text: str, start: int, end: int, offset: int) -> list[Sentence]:
    """``text[start:end]`` as one sentence, or, when longer than MAX_SENTENCE, as windows
    of at most WINDOW characters."""
    out: list[Sentence] = []
    if end - start <= MAX_SENTENCE:
        return [Sentence(offset + start, offset + end, text[start:end])]
    while end - start > WINDOW:
        limit = start + WINDOW
        cut = max(text.rfind(ch, start + WINDOW // 2, limit) for ch in _WINDOW_BREAKS)
        cut = cut + 1 if cut >= 0 else limit
        out.append(Sentence(offset + start, offset + cut, text[start:cut]))
        start = cut
    if start < end:
        out.append(Sentence(offset + start, offset + end, text[start:end]))
    return out


def _longest_run(line: str) -> int:
    """Length of the longest stretch of ``line`` without a sentence end."""
    return max(len(run) for run in _SENTENCE_END_RE.split(line))


_SENTENCE_END_RE = re.compile(f"[{SENTENCE_END}]")


def lead_phrase(sentences: list[Sentence], max_len: int = 24) -> str:
    """A paragraph's lead phrase: a short first sentence without commas, minus its 。."""
    if len(sentences) < 2:
        return ""
    first = sentences[0].text.strip()
    if not first.endswith("。"):
        return ""
    body = first[:-1]
    if len(body) <= max_len and not any(p in body for p in "，,；;、："):
        return body
    return ""


#: Invisible characters removed before parsing: zero-width spaces and joiners, word
#: joiner, BOM / zero-width no-break space (anywhere, not only at the start), soft
#: hyphen, Mongolian vowel separator and bidirectional controls.  One of them before
#: ``二、`` would otherwise hide the heading.
_INVISIBLE_RE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                           "\u2066-\u206f\ufeff]")
#: Unusual spaces mapped to an ASCII space (one character for one, offsets unchanged);
#: the ideographic space U+3000 is ordinary in Chinese text and kept.
_ODD_SPACES = str.maketrans({c: " " for c in "\u00a0\u1680\u2000\u2001\u2002\u2003"
                             "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"}
                            | {c: "\n" for c in "\u0085\u2028\u2029"})


def normalise_invisible(text: str) -> tuple[str, int]:
    """Remove invisible characters and map odd spaces; return (text, characters removed).

    Offsets of every later stage refer to the normalised text (``Document.text``).
    """
    clean, removed = _INVISIBLE_RE.subn("", text)
    return clean.translate(_ODD_SPACES).replace("\r\n", "\n").replace("\r", "\n"), removed


def parse(text: str, source: Path | str = "<report>") -> Document:
    """Parse report ``text`` into a :class:`Document` (pure; no I/O).

    Invisible characters are removed first (:func:`normalise_invisible`), so
    ``Document.text`` may be a few characters shorter than ``text``.
    """
    text, removed = normalise_invisible(text)
    parts: list[Part] = []
    sections: list[Section] = []
    paragraphs: list[Paragraph] = []
    warnings: list[str] = []
    if removed:
        warnings.append(f"{source}: {removed} invisible characters (zero-width spaces, BOMs, "
                        "direction marks) removed before parsing")
    for number, pos, raw in _lines(text):
        line = raw.strip()
        if not line:
            continue
        lstart = pos + raw.index(line[0])
        sec = SECTION_RE.match(line)
        if sec and _is_heading_title(sec["title"]):
            if not parts:
                parts.append(Part("", "", "other", 0))
            n = sec["n"]
            sections.append(Section(arabic_to_cn(int(n)) if n.isdigit() else n, sec["title"],
                                    len(parts) - 1, lstart))
            continue
        part = PART_RE.match(line)
        if part and _is_heading_title(part["title"]) and _looks_like_part(part, line):
            n = part["n1"] or part["n2"] or arabic_to_cn(int(part["n3"]))
            parts.append(Part(n, part["title"], part_role(part["title"]), lstart,
                              year=_year_in(part["title"])))
            continue
        paragraph = Paragraph(lstart, lstart + len(line), line, number, len(parts) - 1,
                              _current_section(sections, len(parts) - 1))
        paragraph.sentences = split_sentences(line, lstart)
        if _longest_run(line) > MAX_SENTENCE:
            warnings.append(f"{source}:{number}: a sentence of more than {MAX_SENTENCE} "
                            "characters without 。！？; it is read in windows")
        paragraph.lead = lead_phrase(paragraph.sentences)
        paragraphs.append(paragraph)
    if not paragraphs:
        raise ReportError("the report has no paragraphs of text", path=source,
                          fix="pass the full text of the report")
    if not parts:
        warnings.append(f"{source}: no part headings (一、…) found; the whole text is one part")
        parts.append(Part("", "", "other", 0))
        for p in paragraphs:
            p.part_index = 0
    _close_spans(parts, sections, len(text))
    year = _report_year(parts, text)
    _assign_years(parts, year)
    if text.rstrip()[-1:] not in "。！？!?”）)" and len(text) > 200:
        warnings.append(f"{source}: the text does not end with a full stop; it may be truncated")
    return Document(text, parts, sections, paragraphs, year, warnings)


def _looks_like_part(match: re.Match, line: str) -> bool:
    # A part heading is short; numbered list items inside paragraphs ("一是…") are not.
    title = match["title"]
    return not title.startswith(("是", "要", "在", "和")) and len(line) <= _HEADING_MAX + 6


def _current_section(sections: list[Section], part_index: int) -> int:
    if sections and sections[-1].part_index == part_index and part_index >= 0:
        return len(sections) - 1
    return -1


def _close_spans(parts: list[Part], sections: list[Section], length: int) -> None:
    for i, part in enumerate(parts):
        part.end = parts[i + 1].start if i + 1 < len(parts) else length
    for i, sec in enumerate(sections):
        nxt = [s.start for s in sections[i + 1 :]] + [
            p.start for p in parts if p.start > sec.start] + [length]
        sec.end = min(nxt)


def _year_in(title: str) -> int | None:
    m = YEAR_RE.search(title)
    return int(m.group(0)) if m else None


def _report_year(parts: list[Part], text: str) -> int | None:
    """The year the report is for: the tasks part's year, or the review year + 1."""
    for part in parts:
        if part.role == "tasks" and part.year:
            return part.year
    for part in parts:
        if part.role == "review" and part.year:
            return part.year + 1
    years = [int(m.group(0)) for m in YEAR_RE.finditer(text[:3000])]
    return max(years) if years else None


def _assign_years(parts: list[Part], report_year: int | None) -> None:
    for part in parts:
        if part.year is None and report_year is not None:
            part.year = report_year - 1 if part.role == "review" else report_year
