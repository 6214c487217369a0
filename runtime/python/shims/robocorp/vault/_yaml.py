"""The YAML of local secret files, in pure Python.

PyYAML is not imported: its libyaml binding (``yaml._yaml``) is a Cython module, and
those belong in one interpreter only (embedding-cpython.md R13), while robots run in
sub-interpreters. This reads the subset secret files use:

- block mappings (``key: value``, nested by indentation), block sequences (``- x``),
- plain, 'single' and "double" quoted scalars, ``|`` and ``>`` block scalars,
- flow collections written as JSON (``{"a": 1}``, ``[1, 2]``) and simple ``[a, b]``,
- null (``~``, ``null``, empty), booleans (true/false/yes/no/on/off), ints, floats,
- comments, a leading ``---``.

Anchors, aliases, tags, multi-document files and complex keys raise ValueError.
``dump`` writes block mappings and sequences with JSON-quoted strings (valid YAML).
"""

import json
import re
from typing import Any, List, Tuple

_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?:,\[\]{}&*!|>%@`][^#]*?|-[^\s][^#]*?)\s*:(\s|$)""")


class _Line:
    __slots__ = ("indent", "text", "no")

    def __init__(self, indent: int, text: str, no: int) -> None:
        self.indent = indent
        self.text = text
        self.no = no


def _strip_comment(s: str) -> str:
    out = []
    quote = None
    i = 0
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\" and quote == '"' and i + 1 < len(s):
                out.append(s[i:i + 2])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"" and (not out or "".join(out).rstrip() == "" or
                             "".join(out)[-1] in " :-[{,"):
            quote = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            break
        out.append(c)
        i += 1
    return "".join(out).rstrip()


def _scalar(text: str, no: int) -> Any:
    t = text.strip()
    if t == "" or t == "~" or t.lower() == "null":
        return None
    if t[0] in "&*!":
        raise ValueError(f"line {no}: YAML anchors, aliases and tags are not supported")
    if t[0] == '"':
        try:
            value, end = json.JSONDecoder().raw_decode(t)
        except ValueError:
            raise ValueError(f"line {no}: bad double-quoted string: {t}") from None
        if t[end:].strip():
            raise ValueError(f"line {no}: unexpected text after string: {t}")
        return value
    if t[0] == "'":
        if len(t) < 2 or not t.endswith("'"):
            raise ValueError(f"line {no}: bad single-quoted string: {t}")
        return t[1:-1].replace("''", "'")
    if t[0] in "[{":
        try:
            return json.loads(t)
        except ValueError:
            pass
        if t[0] == "[" and t.endswith("]"):
            inner = t[1:-1].strip()
            return [_scalar(x, no) for x in inner.split(",")] if inner else []
        raise ValueError(f"line {no}: flow mappings must be written as JSON: {t}")
    low = t.lower()
    if low in _BOOLS:
        return _BOOLS[low]
    if _INT.match(t):
        return int(t.replace("_", ""))
    if _FLOAT.match(t) and any(ch.isdigit() for ch in t):
        return float(t.replace("_", ""))
    if low in (".inf", "+.inf"):
        return float("inf")
    if low == "-.inf":
        return float("-inf")
    if low == ".nan":
        return float("nan")
    return t


def _key(text: str, no: int) -> str:
    text = text.strip()
    if text[:1] in "'\"":
        return str(_scalar(text, no))
    return text


class _Parser:
    def __init__(self, raw: str) -> None:
        self.raw_lines = raw.splitlines()
        self.lines: List[_Line] = []
        for no, line in enumerate(self.raw_lines, 1):
            if "\t" in line[: len(line) - len(line.lstrip())]:
                raise ValueError(f"line {no}: tabs are not allowed in YAML indentation")
            text = _strip_comment(line)
            if not text.strip():
                continue
            if text.strip() in ("---", "...") and not line.startswith(" "):
                if self.lines and text.strip() == "---":
                    raise ValueError(f"line {no}: multiple YAML documents are not supported")
                continue
            self.lines.append(_Line(len(text) - len(text.lstrip()), text.strip(), no))
        self.pos = 0

    def parse(self) -> Any:
        if not self.lines:
            return None
        value = self.block(self.lines[0].indent)
        if self.pos < len(self.lines):
            ln = self.lines[self.pos]
            raise ValueError(f"line {ln.no}: bad indentation")
        return value

    def block(self, indent: int) -> Any:
        ln = self.lines[self.pos]
        if ln.text.startswith("- ") or ln.text == "-":
            return self.sequence(indent)
        if _KEY.match(ln.text):
            return self.mapping(indent)
        self.pos += 1
        return _scalar(ln.text, ln.no)

    def value_after(self, rest: str, ln: _Line, parent_indent: int) -> Any:
        rest = rest.strip()
        if rest[:1] and rest[0] in "|>":
            return self.block_scalar(rest, ln, parent_indent)
        if rest:
            return _scalar(rest, ln.no)
        if self.pos < len(self.lines):
            nxt = self.lines[self.pos]
            if nxt.indent > parent_indent or (
                    nxt.indent == parent_indent and nxt.text.startswith("-")):
                return self.block(nxt.indent)
        return None

    def mapping(self, indent: int) -> dict:
        result: dict = {}
        while self.pos < len(self.lines):
            ln = self.lines[self.pos]
            if ln.indent < indent:
                break
            if ln.indent > indent:
                raise ValueError(f"line {ln.no}: bad indentation")
            m = _KEY.match(ln.text)
            if m is None:
                if ln.text.startswith("-"):
                    break
                raise ValueError(f"line {ln.no}: expected 'key: value': {ln.text}")
            key = _key(m.group(1), ln.no)
            self.pos += 1
            result[key] = self.value_after(ln.text[m.end():], ln, indent)
        return result

    def sequence(self, indent: int) -> list:
        result: list = []
        while self.pos < len(self.lines):
            ln = self.lines[self.pos]
            if ln.indent != indent or not (ln.text.startswith("- ") or ln.text == "-"):
                if ln.indent > indent:
                    raise ValueError(f"line {ln.no}: bad indentation")
                break
            rest = ln.text[1:].lstrip()
            if rest and _KEY.match(rest):
                # "- key: value" starts a mapping indented at the key's column
                col = indent + (len(ln.text) - len(rest))
                self.lines[self.pos] = _Line(col, rest, ln.no)
                result.append(self.mapping(col))
            else:
                self.pos += 1
                result.append(self.value_after(rest, ln, indent))
        return result

    def block_scalar(self, header: str, ln: _Line, parent_indent: int) -> str:
        style, chomp = header[0], "clip"
        if "-" in header[1:]:
            chomp = "strip"
        elif "+" in header[1:]:
            chomp = "keep"
        # Block scalars are read from the raw lines (comments and blank lines are text).
        raw = self.raw_lines
        start = ln.no  # index of the next raw line
        body: List[str] = []
        block_indent = None
        i = start
        while i < len(raw):
            line = raw[i]
            if line.strip() == "":
                body.append("")
                i += 1
                continue
            ind = len(line) - len(line.lstrip(" "))
            if block_indent is None:
                if ind <= parent_indent:
                    break
                block_indent = ind
            if ind < block_indent:
                break
            body.append(line[block_indent:])
            i += 1
        while self.pos < len(self.lines) and self.lines[self.pos].no <= i:
            self.pos += 1
        trailing = 0
        while body and body[-1] == "":
            body.pop()
            trailing += 1
        if style == "|":
            text = "\n".join(body)
        else:
            text = ""
            for j, part in enumerate(body):
                if j == 0:
                    text = part
                elif part == "" or body[j - 1] == "":
                    text += "\n" if part == "" else part
                else:
                    text += " " + part
        if chomp == "strip" or not body:
            return text
        if chomp == "keep":
            return text + "\n" * (1 + trailing)
        return text + "\n"


def loads(text: str) -> Any:
    return _Parser(text).parse()


def load(fd) -> Any:
    return loads(fd.read())


def _dump_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _dump(value: Any, indent: int, out: List[str], step: int) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            key = json.dumps(str(k), ensure_ascii=False)
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{key}:")
                _dump(v, indent + step, out, step)
            else:
                out.append(f"{pad}{key}: {_dump_empty(v)}")
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}-")
                _dump(v, indent + step, out, step)
            else:
                out.append(f"{pad}- {_dump_empty(v)}")
    else:
        out.append(pad + _dump_scalar(value))


def _dump_empty(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _dump_scalar(v)


def dumps(value: Any, indent: int = 2) -> str:
    out: List[str] = []
    _dump(value, 0, out, indent or 2)
    return "\n".join(out) + "\n"


def dump(value: Any, fd, indent: int = 2) -> None:
    fd.write(dumps(value, indent=indent))


__all__: Tuple[str, ...] = ("load", "loads", "dump", "dumps")
