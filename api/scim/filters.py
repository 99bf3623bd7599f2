"""SCIM filters (RFC 7644 §3.4.2.2) -> a SQL ``WHERE`` condition over an attribute map.

``scim2-filter-parser`` parses the filter; this module walks its syntax tree itself rather
than using the library's transpiler, because that one drops unknown attributes silently
(a filter on a typo would list everybody), compares only ``userName`` case-insensitively,
does not escape ``%``/``_`` in ``co``/``sw``/``ew`` values and uses three-valued SQL logic
(``not (externalId eq "x")`` would skip members with no externalId).

The SQL is the same on SQLite and PostgreSQL; parameters are ``{}`` placeholders in order
(Piccolo's ``raw``/``QueryString`` style), values never inlined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_models import InvalidFilterException

MAX_FILTER = 2000  # characters; a directory's filters are one or two comparisons
MAX_DEPTH = 32  # nesting of parentheses / not / and / or: keeps SQL parsers' limits far away
LIKE_ESCAPE = "\\"

Kind = Literal["string", "boolean"]


@dataclass(frozen=True)
class Attribute:
    """How one SCIM attribute reads in SQL.

    * ``column``: an SQL expression over the query's tables (``users.email``,
      ``COALESCE(m.scim_user_name, u.email)``, or a constant such as ``'work'`` for a
      sub-attribute every value has).
    * ``case_exact``: RFC 7643 §2.4 ``caseExact`` (false: compare with ``lower()`` both sides).
    * ``kind``: ``string`` or ``boolean`` (then only ``eq``/``ne``/``pr``, value true/false).
    * ``within``: for a multi-valued attribute stored in other rows (a group's members), a
      function wrapping the comparison, e.g. ``lambda c: f"EXISTS (SELECT 1 FROM tm WHERE
      tm.team_id = t.id AND {c})"``.
    """

    column: str
    case_exact: bool = False
    kind: Kind = "string"
    within: Callable[[str], str] | None = None


def where(filter_text: str, attributes: Mapping[str, Attribute | str], *,
          schema: str | None = None) -> tuple[str, list[Any]]:
    """The SQL condition and its parameters for a SCIM filter.

    ``attributes`` maps lower-case attribute paths (``"username"``, ``"emails.value"``,
    ``"emails.type"``, ``"name.givenname"``) to an :class:`Attribute` (a plain string is a
    case-insensitive string column). An attribute named by its full URI
    (``urn:ietf:params:scim:schemas:core:2.0:User:userName``) is looked up without the URI when
    the URI is ``schema`` (the resource's core schema), else as ``"<uri>:<path>"``. A
    multi-valued attribute named without a sub-attribute (``emails co "x"``) means its
    ``value`` (§3.4.2.2). ``emails[type eq "work"].value eq "x"`` is the conjunction of both.

    Every comparison is two-valued (an absent attribute matches no comparison, and ``not``
    of it matches), as §3.4.2.2 reads.

    Returns ``(sql, params)``: ``sql`` uses ``{}`` placeholders, one per item of ``params``, in
    order; embed it in parentheses. raises InvalidFilterException (400 invalidFilter) for a
    filter that does not parse, names an attribute not in the map, compares a boolean with
    anything but ``eq``/``ne``/``pr`` or ``true``/``false``, or is too long or too deep.
    """
    if len(filter_text) > MAX_FILTER:
        raise InvalidFilterException(detail=f"The filter is longer than {MAX_FILTER} characters.")
    if "\x00" in filter_text:  # PostgreSQL text cannot hold U+0000: no value matches it
        raise InvalidFilterException(detail="The filter contains the NUL character (U+0000).")
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(filter_text))
    except (SCIMParserError, ValueError, IndexError) as exc:
        raise InvalidFilterException(detail=f"The filter is not valid: {exc}.") from None
    if tree is None:
        raise InvalidFilterException(detail="The filter is empty.")
    walker = _Walker(attributes, (schema or "").lower())
    sql = walker.filter(tree, None, 0)
    return sql, walker.params


class _Walker:
    def __init__(self, attributes: Mapping[str, Attribute | str], schema: str) -> None:
        self.attributes = attributes
        self.schema = schema
        self.params: list[Any] = []

    def filter(self, node: Any, namespace: str | None, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise InvalidFilterException(detail="The filter is nested too deeply.")
        if isinstance(node, ast.Filter):
            if node.namespace is not None:  # a value path: attr[...]
                namespace = self._name(node.namespace, None, with_sub=False)
            sql = self.filter(node.expr, namespace, depth + 1)
            return f"NOT ({sql})" if node.negated else sql
        if isinstance(node, ast.LogExpr):
            left = self.filter(node.expr1, namespace, depth + 1)
            right = self.filter(node.expr2, namespace, depth + 1)
            return f"({left}) {node.op.upper()} ({right})"
        if isinstance(node, ast.AttrExpr):
            return self.attr_expr(node, namespace, depth)
        raise InvalidFilterException(detail="The filter is not valid.")

    def attr_expr(self, node: ast.AttrExpr, namespace: str | None, depth: int) -> str:
        path = node.attr_path
        if isinstance(path.attr_name, ast.Filter):
            # emails[type eq "work"].value eq "x": the parser moved ".value" onto the
            # value path's namespace; the bracket filter and the comparison both hold
            inner = path.attr_name
            condition = self.filter(ast.Filter(inner.expr, inner.negated, None),
                                    self._name(inner.namespace, None, with_sub=False),
                                    depth + 1)
            name = self._name(inner.namespace, None, with_sub=True)
            return f"({condition}) AND ({self.compare(name, node)})"
        return self.compare(self._name(path, namespace, with_sub=True), node)

    def _name(self, path: ast.AttrPath, namespace: str | None, *, with_sub: bool) -> str:
        name = str(path.attr_name)
        if with_sub and path.sub_attr is not None:
            name = f"{name}.{path.sub_attr.value}"
        if namespace:
            name = f"{namespace}.{name}"
        uri = (path.uri or "").lower()
        if uri and uri != self.schema:
            name = f"{uri}:{name}"
        return name.lower()

    def lookup(self, name: str) -> Attribute:
        found = self.attributes.get(name) or self.attributes.get(f"{name}.value")
        if found is None:
            raise InvalidFilterException(detail=f"The filter names an unknown attribute: {name}.")
        return Attribute(found) if isinstance(found, str) else found

    def compare(self, name: str, node: ast.AttrExpr) -> str:
        attr = self.lookup(name)
        op = node.value.lower()
        value = None if node.comp_value is None else str(node.comp_value.value)
        sql = (self._boolean(attr, op, value, name) if attr.kind == "boolean"
               else self._string(attr, op, value))
        # two-valued logic: a comparison with an absent (NULL) attribute is false, not unknown
        sql = f"COALESCE({sql}, FALSE)"
        return attr.within(sql) if attr.within else sql

    def _param(self, value: object) -> str:
        self.params.append(value)
        return "{}"

    def _value(self, attr: Attribute, text: str) -> str:
        # lower() in SQL on both sides, so both use the engine's own idea of letter case
        return self._param(text) if attr.case_exact else f"lower({self._param(text)})"

    def _boolean(self, attr: Attribute, op: str, value: str | None, name: str) -> str:
        if op == "pr":
            return f"{attr.column} IS NOT NULL"
        if op not in ("eq", "ne") or value is None or value.lower() not in ("true", "false"):
            raise InvalidFilterException(
                detail=f"{name} is a boolean: compare it with eq or ne and true or false.")
        sql = f"{attr.column} = {self._param(value.lower() == 'true')}"
        return sql if op == "eq" else f"NOT ({sql})"

    def _string(self, attr: Attribute, op: str, value: str | None) -> str:
        column = attr.column if attr.case_exact else f"lower({attr.column})"
        if op == "pr":
            return f"{attr.column} IS NOT NULL AND {attr.column} <> ''"
        assert value is not None  # the grammar gives every other operator a value
        text = value
        if op in ("eq", "ne", "gt", "ge", "lt", "le"):
            sign = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op]
            return f"{column} {sign} {self._value(attr, text)}"
        if not attr.case_exact:  # SQLite's LIKE ignores ASCII case: fine on lower() sides
            pattern = _like(text, prefix=op in ("co", "ew"), suffix=op in ("co", "sw"))
            return f"{column} LIKE {self._value(attr, pattern)} ESCAPE '{LIKE_ESCAPE}'"
        # case-exact substring tests without LIKE (case-insensitive on SQLite)
        if op == "sw":
            return f"substr({column}, 1, {len(text)}) = {self._param(text)}"
        if op == "ew":
            return (f"length({column}) >= {len(text)} AND "
                    f"substr({column}, length({column}) - {len(text) - 1}) = {self._param(text)}")
        if op == "co":
            if not text:
                return f"{column} IS NOT NULL"
            return f"length(replace({column}, {self._param(text)}, '')) < length({column})"
        raise InvalidFilterException(detail=f"Unknown comparison operator {op}.")


def _like(text: str, *, prefix: bool, suffix: bool) -> str:
    escaped = "".join(LIKE_ESCAPE + c if c in "%_" + LIKE_ESCAPE else c for c in text)
    return ("%" if prefix else "") + escaped + ("%" if suffix else "")
