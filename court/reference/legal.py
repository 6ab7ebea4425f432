"""The table of legal statements (data/legal_statements.yaml) and the check that
a text for residents states no time limit, fee, body or article outside it.

Cards, details, routing answers, fee answers, FAQ answers and outcome pushes are
composed with `say`; `audit` is what the tests run over every one of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Optional

import yaml

from court.core.settings import DATA_DIR

STATEMENTS_FILE = DATA_DIR / "legal_statements.yaml"

_CN_NUM = "零〇一二两三四五六七八九十百"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Citation:
    statute: str
    article: str  # "188" is 第188条; a Chinese numeral is an item, 第一项

    def render(self) -> str:
        return f"第{self.article}条" if self.article.isdigit() else f"第{self.article}项"


@dataclass(frozen=True)
class Statement:
    key: str
    text: str
    short: Optional[str]
    basis: tuple[Citation, ...]

    @property
    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.text)) | set(_PLACEHOLDER.findall(self.short or ""))


@dataclass(frozen=True)
class Table:
    statutes: dict[str, str]
    bodies: tuple[str, ...]
    hotlines: dict[str, str]
    statements: dict[str, Statement]


def _basis(key: str, raw: Any) -> tuple[Citation, ...]:
    out: list[Citation] = []
    for entry in raw or ():
        statute, *articles = str(entry).split()
        if not articles:
            raise ValueError(f"{key}: basis {entry!r} names no article")
        out += [Citation(statute, a) for a in articles]
    return tuple(out)


@lru_cache(maxsize=1)
def table() -> Table:
    with STATEMENTS_FILE.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    statements = {
        key: Statement(key, str(v["text"]).strip(), (str(v["short"]).strip() if v.get("short") else None),
                       _basis(key, v.get("basis")))
        for key, v in raw["statements"].items()
    }
    return Table(statutes=dict(raw["statutes"]), bodies=tuple(raw["bodies"]),
                 hotlines={str(k): str(v) for k, v in raw["hotlines"].items()}, statements=statements)


def statement(key: str) -> Statement:
    try:
        return table().statements[key]
    except KeyError:
        raise ValueError(f"no legal statement {key!r}") from None


def cite(basis: Iterable[Citation]) -> str:
    """（民事诉讼法第34条，民诉法解释第28条）: articles grouped by statute, in order."""
    groups: dict[str, list[Citation]] = {}
    for c in basis:
        groups.setdefault(c.statute, [])
        if c not in groups[c.statute]:
            groups[c.statute].append(c)
    parts = []
    for statute, cs in groups.items():
        articles = sorted((c.article for c in cs if c.article.isdigit()), key=int)
        items = [c.render() for c in cs if not c.article.isdigit()]
        part = statute + (f"第{'、'.join(articles)}条" if articles else "")
        parts.append(part + "".join(items))
    return "（" + "，".join(parts) + "）"


def _fill(text: str, fill: dict[str, Any]) -> str:
    missing = set(_PLACEHOLDER.findall(text)) - set(fill)
    if missing:
        raise ValueError(f"missing {sorted(missing)} for {text!r}")
    return _PLACEHOLDER.sub(lambda m: str(fill[m.group(1)]), text)


def say(key: str, *, with_basis: bool = True, short: bool = False, **fill: Any) -> str:
    """A statement as residents read it, with its articles in brackets unless
    `with_basis` is false; `short` picks the phone-screen form when there is one."""
    st = statement(key)
    text = _fill(st.short if short and st.short else st.text, fill)
    if not with_basis:
        return text
    body, end = (text[:-1], text[-1]) if text[-1] in "。！？" else (text, "。")
    return f"{body}{cite(st.basis)}{end}"


def sources(keys: Iterable[str]) -> str:
    """依据：诉讼费用交纳办法第13、29条，人民调解法第4条。 for answers whose lines carry no article."""
    basis: list[Citation] = []
    for key in keys:
        basis += statement(key).basis
    return "依据：" + cite(basis)[1:-1] + "。"


# --- the audit ----------------------------------------------------------------

_DATES = re.compile(r"\d{4}年(?:\d{1,2}月(?:\d{1,2}[日号])?)?|\d{1,2}月\d{1,2}[日号]|\d{1,2}[:：]\d{2}")
_LIMIT = re.compile(rf"(?<![\d.])(?:\d+(?:\.\d+)?|[{_CN_NUM}]+)\s*个?(?:工作日|小时|日|天|个月|月|年|周)")
_FEE = re.compile(r"\d+(?:\.\d+)?\s*万?元|\d+(?:\.\d+)?\s*[%％]|免费|不收费|不收取|减半|免交|减交|缓交|免收|不预交")
_CITATION = re.compile(rf"（([^（）]*第[\d{_CN_NUM}、]+[条项][^（）]*)）")
_CITED = re.compile(rf"([^\d、，（）第]+?)第((?:\d+、)*\d+)条((?:第[{_CN_NUM}]+项)*)|([^\d、，（）第]+?)第([{_CN_NUM}]+)项")
_BODY_SUFFIX = re.compile(r"委员会|仲裁委|机关|部门|法院|机构|协会|政府|街道办|派出所|妇联|医学会|看守所|居委会|村委会"
                          r"|保险公司|工会|局")
_HOTLINE = re.compile(r"(?<![\dA-Za-z\-.:：第])1\d{2}(?:\d{2})?(?![\d.:：%％万元日天月年条个件小时周岁号至])")
_LEAD = re.compile(r"^(?:[·•\-\s]|【[^】]*】|[\u4e00-\u9fff（）]{1,7}：)+")
_SPLIT = re.compile(r"[。！？；\n]")


def facts(text: str) -> set[str]:
    """The time limits and fee amounts a piece of text states (dates and clock times aside)."""
    plain = _DATES.sub(" ", _CITATION.sub(" ", text))
    return {re.sub(r"\s+", "", m.group(0)) for m in (*_LIMIT.finditer(plain), *_FEE.finditer(plain))}


def citations(text: str) -> set[Citation]:
    found: set[Citation] = set()
    for group in _CITATION.findall(text):
        for part in group.split("，"):
            m = _CITED.fullmatch(part.strip())
            if m is None:
                found.add(Citation(part.strip(), "?"))
                continue
            if m.group(1):
                found |= {Citation(m.group(1), a) for a in m.group(2).split("、")}
                found |= {Citation(m.group(1), i) for i in re.findall(rf"第([{_CN_NUM}]+)项", m.group(3))}
            else:
                found.add(Citation(m.group(4), m.group(5)))
    return found


def _clean(sentence: str) -> str:
    return _LEAD.sub("", _CITATION.sub("", sentence)).strip().rstrip("，、：")


def _forms(st: Statement) -> list[str]:
    return [f.rstrip("。") for f in (st.text, st.short) if f]


def _matches(clause: str, st: Statement) -> bool:
    for form in _forms(st):
        if _PLACEHOLDER.search(form):
            pattern = "".join(".+?" if i % 2 else re.escape(p) for i, p in enumerate(_PLACEHOLDER.split(form)))
            if re.fullmatch(pattern, clause):
                return True
        elif clause and clause in form:
            return True
    return False


def bodies_named(text: str) -> tuple[set[str], set[str]]:
    """(known, unknown) bodies and hotlines a text names."""
    t = table()
    plain = _CITATION.sub(" ", text)
    known: set[str] = set()
    unknown: set[str] = set()
    for m in _BODY_SUFFIX.finditer(plain):
        names = [n for n in t.bodies if plain[max(0, m.end() - len(n)):m.end()] == n]
        if names:
            known.add(max(names, key=len))
        else:
            unknown.add(plain[max(0, m.start() - 6):m.end()])
    for m in _HOTLINE.finditer(_DATES.sub(" ", plain)):
        (known if m.group(0) in t.hotlines else unknown).add(m.group(0))
    return known, unknown


def _clauses(text: str) -> Iterable[tuple[str, str, list[Statement]]]:
    """(clause, its text without decoration or articles, the statements it is part of)."""
    statements = table().statements.values()
    for raw in _SPLIT.split(text):
        clause = raw.strip()
        if clause and not clause.startswith("依据："):
            core = _clean(clause)
            yield clause, core, ([st for st in statements if _matches(core, st)] if core else [])


def statements_in(text: str) -> set[str]:
    """Keys of the statements whose facts a text states (a clause with a fact or an article)."""
    return {st.key for clause, core, matched in _clauses(text) if facts(core) or citations(clause)
            for st in matched}


def audit(text: str) -> list[str]:
    """Problems in a text for residents: each clause stating a time limit, a fee or
    an article must be a statement of the table (with that statement's articles),
    each body or hotline must be in the table, and an 依据 line may only cite
    articles behind the statements the text used."""
    t = table()
    problems: list[str] = []
    used: set[Citation] = set()
    source_lines = [c.strip() for c in _SPLIT.split(text) if c.strip().startswith("依据：")]
    for clause, core, matched in _clauses(text):
        cited = citations(clause)
        for st in matched:
            used.update(st.basis)
        if facts(core) or cited:
            if not matched:
                problems.append(f"not in the table: {clause}")
            elif cited and not any(cited <= set(st.basis) for st in matched):
                problems.append(f"articles {sorted(c.statute + c.render() for c in cited)} "
                                f"are not the basis of: {clause}")
        for c in cited:
            if c.statute not in t.statutes:
                problems.append(f"unknown statute {c.statute!r} in: {clause}")
    for line in source_lines:
        for c in citations(f"（{line.removeprefix('依据：').rstrip('。')}）"):
            if c not in used:
                problems.append(f"{c.statute}{c.render()} in {line!r} is behind no statement of this text")
    _, unknown = bodies_named(text)
    problems += [f"body or hotline not in the table: {u}" for u in sorted(unknown)]
    return problems
