"""The xapi record-filter language used by get_all_records_where.

Grammar (subset of xapi's): expr := or; or := and ("or" and)*; and := unary ("and" unary)*;
unary := "not" unary | "(" expr ")" | "true" | "false" | term ("=" | "<>") term;
term := field "<name>" | "<literal>".  Field names are DB column names: namespaced fields use a
double underscore (name__label, memory__static_max); the plain API name is accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .model import FIELD_INFO, XapiError, to_text

Pred = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(\()|(\))|(<>|!=|=)|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))')


def _tokenize(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise XapiError("INTERNAL_ERROR", f"Expression_error: cannot parse {text[pos:]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3):
            out.append(("op", m.group(3)))
        elif m.group(4) is not None:
            out.append(("str", re.sub(r"\\(.)", r"\1", m.group(4))))
        else:
            out.append(("word", m.group(5).lower()))
    return out


def resolve_field(cls: str, name: str) -> str:
    fields = FIELD_INFO[cls]
    if name in fields:
        return name
    alt = name.replace("__", "_")
    if alt in fields:
        return alt
    raise XapiError("INTERNAL_ERROR", f"Expression_error: unknown field {name!r} in class {cls}")


class _Parser:
    def __init__(self, cls: str, text: str) -> None:
        self.cls = cls
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise XapiError("INTERNAL_ERROR", "Expression_error: unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Pred:
        if not self.toks:
            return lambda r: True
        p = self.or_()
        if self.peek() is not None:
            raise XapiError("INTERNAL_ERROR", f"Expression_error: trailing tokens {self.toks[self.i :]}")
        return p

    def or_(self) -> Pred:
        parts = [self.and_()]
        while self.peek() == ("word", "or"):
            self.take()
            parts.append(self.and_())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def and_(self) -> Pred:
        parts = [self.unary()]
        while self.peek() == ("word", "and"):
            self.take()
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def unary(self) -> Pred:
        tok = self.peek()
        if tok == ("word", "not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if tok == ("(", "("):
            self.take()
            p = self.or_()
            if self.take() != (")", ")"):
                raise XapiError("INTERNAL_ERROR", "Expression_error: expected )")
            return p
        if tok == ("word", "true"):
            self.take()
            return lambda r: True
        if tok == ("word", "false"):
            self.take()
            return lambda r: False
        left = self.term()
        op = self.take()
        if op[0] != "op":
            raise XapiError("INTERNAL_ERROR", f"Expression_error: expected = got {op[1]!r}")
        right = self.term()
        eq = _eq(left, right)
        return eq if op[1] == "=" else (lambda r: not eq(r))

    def term(self) -> tuple[str, str]:
        tok = self.take()
        if tok == ("word", "field"):
            name = self.take()
            if name[0] != "str":
                raise XapiError("INTERNAL_ERROR", "Expression_error: field needs a quoted name")
            return ("field", resolve_field(self.cls, name[1]))
        if tok[0] == "str":
            return ("lit", tok[1])
        raise XapiError("INTERNAL_ERROR", f"Expression_error: unexpected {tok[1]!r}")


def _eq(left: tuple[str, str], right: tuple[str, str]) -> Pred:
    if left[0] == "lit" and right[0] == "field":
        left, right = right, left
    if left[0] == "field" and right[0] == "lit":
        f, lit = left[1], right[1]

        def pred(r: dict[str, Any]) -> bool:
            v = r.get(f)
            if isinstance(v, str):
                return v == lit
            return to_text(v) == lit

        return pred
    if left[0] == "field" and right[0] == "field":
        f1, f2 = left[1], right[1]
        return lambda r: to_text(r.get(f1)) == to_text(r.get(f2))
    same = left[1] == right[1]
    return lambda r: same


def compile_expr(cls: str, text: str) -> Pred:
    return _Parser(cls, text).parse()
