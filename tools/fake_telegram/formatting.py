"""Text formatting as Telegram's server does it: parse modes, entity detection, trimming.

`parse_html`, `parse_markdown_v2` and `parse_markdown` turn a formatted text into
(text, entities) or raise Telegram's "can't parse entities" 400; `detect_entities`
finds what the server marks by itself (commands, links, mentions...);
`finish_text` trims and merges. Entity offsets and lengths are UTF-16 code units
(`utf16_len`).
"""
from __future__ import annotations

import re

from tools.fake_telegram.params import ApiError, bad


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _entity_error(message: str) -> ApiError:
    return bad(f"can't parse entities: {message}")


_HTML_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
              "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
              "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
              "tg-emoji": "custom_emoji"}
_HTML_ENTITY = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);")
_HTML_ATTR = re.compile(r"""\s*([a-zA-Z_-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Telegram's HTML subset: returns (text, entities) or raises 'can't parse entities'."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY.match(src, i)
            if m:
                name = m.group(1)
                char = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
                if char is None:
                    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
                    char = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
                out.append(char)
                pos16 += utf16_len(char)
                i = m.end()
                continue
            out.append(c)
            pos16 += 1
            i += 1
            continue
        if c != "<":
            out.append(c)
            pos16 += utf16_len(c)
            i += 1
            continue
        start = i
        if src.startswith("</", i):
            end = src.find(">", i)
            if end < 0:
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(src, start)}")
            name = src[i + 2:end].strip().lower()
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {_byte_offset(src, start)}")
            top = stack.pop()
            if name != top["tag"]:
                raise _entity_error(f'Unmatched end tag at byte offset {_byte_offset(src, start)}, expected '
                                    f'"</{top["tag"]}>", found "</{name}>"')
            _close_html_entity(top, stack, pos16, entities)
            i = end + 1
            continue
        j = i + 1
        while j < n and (src[j].isalnum() or src[j] == "-") and src[j].isascii():
            j += 1
        name = src[i + 1:j].lower()
        if name not in _HTML_TAGS:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, start)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(src, start)}")
            if src[j] == ">":
                break
            m = _HTML_ATTR.match(src, j)
            if not m or m.end() == j:
                raise _entity_error(f'Empty attribute name in the tag "{name}" at byte offset '
                                    f"{_byte_offset(src, j)}")
            value = m.group(2) or ""
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            attrs[m.group(1).lower()] = re.sub(r"&(lt|gt|amp|quot);",
                                               lambda e: {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[e.group(1)],
                                               value)
            j = m.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, start)}')
        stack.append({"tag": name, "attrs": attrs, "start": pos16})
        i = j + 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return "".join(out), entities


def _close_html_entity(top: dict, stack: list[dict], pos16: int, entities: list[dict]) -> None:
    tag, attrs, start = top["tag"], top["attrs"], top["start"]
    length = pos16 - start
    if length <= 0:
        return
    kind = _HTML_TAGS[tag]
    entity: dict = {"type": kind, "offset": start, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return  # an <a> without href is plain text
        entity["url"] = href
    elif tag == "code" and stack and stack[-1]["tag"] == "pre" and stack[-1]["start"] == start:
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1]["language"] = lang[len("language-"):]
            return  # merged into the enclosing pre
    elif tag == "pre" and top.get("language"):
        entity["language"] = top["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        if not attrs.get("emoji-id"):
            return
        entity["custom_emoji_id"] = attrs["emoji-id"]
    entities.append(entity)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"))


def parse_markdown_v2(src: str) -> tuple[str, list[dict]]:
    """Telegram's MarkdownV2: reserved characters must be escaped outside entities."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            emit(src[i + 1])
            i += 2
            continue
        if c == "`":
            is_pre = src.startswith("```", i)
            j = i + (3 if is_pre else 1)
            body: list[str] = []
            while j < n and not (src.startswith("```", j) if is_pre else src[j] == "`"):
                if src[j] == "\\" and j + 1 < n and src[j + 1] in "`\\":
                    body.append(src[j + 1])
                    j += 2
                else:
                    body.append(src[j])
                    j += 1
            if j >= n:
                raise _entity_error(f"Can't find end of {'Pre' if is_pre else 'Code'} entity at byte offset "
                                    f"{_byte_offset(src, i)}")
            content = "".join(body)
            entity: dict = {"type": "pre" if is_pre else "code"}
            if is_pre:
                first, sep, rest = content.partition("\n")
                if sep and first and not any(ch.isspace() for ch in first):
                    entity["language"] = first
                    content = rest
                elif sep and not first:
                    content = rest
            start = pos16
            emit(content)
            if pos16 > start:
                entities.append({**entity, "offset": start, "length": pos16 - start})
            i = j + (3 if is_pre else 1)
            continue
        if c == "[":
            stack.append({"marker": "[", "start": pos16, "at": i})
            i += 1
            continue
        if c == "]" and stack and stack[-1]["marker"] == "[":
            top = stack.pop()
            if not src.startswith("(", i + 1):
                raise _entity_error(f"Can't find end of the entity starting at byte offset "
                                    f"{_byte_offset(src, top['at'])}")
            j = i + 2
            url: list[str] = []
            while j < n and src[j] != ")":
                if src[j] == "\\" and j + 1 < n:
                    url.append(src[j + 1])
                    j += 2
                else:
                    url.append(src[j])
                    j += 1
            if j >= n:
                raise _entity_error(f"Can't find end of a url at byte offset {_byte_offset(src, i + 1)}")
            if pos16 > top["start"] and url:
                entities.append({"type": "text_link", "offset": top["start"], "length": pos16 - top["start"],
                                 "url": "".join(url)})
            i = j + 1
            continue
        marker = next((m for m, _ in _MDV2_MARKERS if src.startswith(m, i)), None)
        if marker is not None:
            if stack and stack[-1]["marker"] == marker:
                top = stack.pop()
                if pos16 > top["start"]:
                    kind = dict(_MDV2_MARKERS)[marker]
                    entities.append({"type": kind, "offset": top["start"], "length": pos16 - top["start"]})
            else:
                stack.append({"marker": marker, "start": pos16, "at": i})
            i += len(marker)
            continue
        if c in _MDV2_RESERVED:
            raise _entity_error(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1
    if stack:
        raise _entity_error(f"Can't find end of the entity starting at byte offset "
                            f"{_byte_offset(src, stack[-1]['at'])}")
    return "".join(out), entities


def parse_markdown(src: str) -> tuple[str, list[dict]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out: list[str] = []
    pos16 = 0
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            pos16 += 1
            i += 2
            continue
        if c in "*_`" or c == "[":
            closer = {"*": "*", "_": "_", "`": "`", "[": "]"}[c]
            opener = "```" if src.startswith("```", i) else c
            end = src.find("```" if opener == "```" else closer, i + len(opener))
            if end < 0:
                raise _entity_error(f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}")
            inner = src[i + len(opener):end]
            after = end + len(opener if opener == "```" else closer)
            entity: dict = {"type": {"*": "bold", "_": "italic", "`": "code", "```": "pre", "[": "text_link"}[opener]}
            if opener == "[":
                if not src.startswith("(", after):
                    raise _entity_error(f"Can't find end of the entity starting at byte offset "
                                        f"{_byte_offset(src, i)}")
                close = src.find(")", after)
                if close < 0:
                    raise _entity_error(f"Can't find end of a url at byte offset {_byte_offset(src, after)}")
                entity["url"] = src[after + 1:close]
                after = close + 1
            if opener == "```":
                first, sep, rest = inner.partition("\n")
                if sep and first and " " not in first:
                    entity["language"], inner = first, rest
            length = utf16_len(inner)
            if length:
                entities.append({**entity, "offset": pos16, "length": length})
            out.append(inner)
            pos16 += length
            i = after
            continue
        out.append(c)
        pos16 += utf16_len(c)
        i += 1
    return "".join(out), entities


_AUTO_ENTITIES = [
    ("bot_command", re.compile(r"(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/])")),
    ("url", re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'，。！？；：）】」]")),
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("mention", re.compile(r"(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?!\d+(?!\w))\w{1,256}")),
]


def detect_entities(text: str) -> list[dict]:
    """The entities Telegram's server finds in any text (commands, links, mentions...)."""
    found: list[dict] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for m in pattern.finditer(text):
            a, b = m.start(), m.end()
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            found.append({"type": kind, "offset": utf16_len(text[:a]), "length": utf16_len(text[a:b])})
    return found


def finish_text(text: str, entities: list[dict], *, detect: bool = True) -> tuple[str, list[dict]]:
    """Trim like Telegram does, shift entities, add the auto-detected ones, sort."""
    stripped = text.strip()
    lead = utf16_len(text[:len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    fixed = []
    for ent in entities:
        start = max(ent["offset"] - lead, 0)
        end = min(ent["offset"] + ent["length"] - lead, size)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    if detect:
        opaque = [(e["offset"], e["offset"] + e["length"]) for e in fixed
                  if e["type"] in ("code", "pre", "text_link", "url", "email", "mention", "bot_command")]
        for ent in detect_entities(stripped):
            a, b = ent["offset"], ent["offset"] + ent["length"]
            if not any(a < y and x < b for x, y in opaque):
                fixed.append(ent)
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed

