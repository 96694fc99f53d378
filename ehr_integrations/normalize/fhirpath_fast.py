"""A compiled fast path for the plain FHIRPath the mappings use; fhirpathpy stays the reference.

fhirpathpy interprets its parse tree on every evaluation: a Patient's seven fields took 2.5 ms,
three Patients a call (the speculative search's even work and the prefetch), the largest single
item of a call's CPU (issue 24). `compile_fast` turns the same parse tree into nested Python
closures for a small subset: member paths, `where(...)`, `first()`, `exists()`, `empty()`,
`iif(...)`, `startsWith(...)`, `=` and `!=` against a string literal, `and`, `or`, `|` and parentheses. Anything else
(type names, other functions or operators, escapes) returns None at compile time and the mapping
uses fhirpathpy alone. At run time a closure raises `Unsupported` where the data leaves the
subset (a choice element such as `medication` read as `medicationCodeableConcept`, a primitive's
`_extension` twin, a JSON null, a comparison of a non-string, a non-boolean condition) and the
caller evaluates the expression with fhirpathpy.
tests/ehr_integrations/test_fhirpath_fast.py holds both to the same answers on every preset
expression over sandbox resources and awkward shapes.
"""

from collections.abc import Callable
from functools import lru_cache

from fhirpathpy.parser import parse

Collection = list
Step = Callable[[Collection], Collection]


_ABSENT = object()


class Unsupported(Exception):
    """The expression or the data leaves the fast path's subset: evaluate with fhirpathpy."""


def _member(name: str) -> Step:
    twin = "_" + name

    def step(focus: Collection) -> Collection:
        out: list = []
        for item in focus:
            if not isinstance(item, dict):
                continue
            if twin in item:
                raise Unsupported(twin)
            value = item.get(name, _ABSENT)
            if value is _ABSENT:
                if any(k.startswith(name) and k[len(name) : len(name) + 1].isupper() for k in item):
                    raise Unsupported(name)  # a choice element (medicationCodeableConcept): the R4 model decides
            elif isinstance(value, list):
                if None in value:
                    raise Unsupported("null")
                out.extend(value)
            elif value is None:
                raise Unsupported("null")  # JSON null is not FHIR; fhirpathpy keeps it as an item
            else:
                out.append(value)
        return out

    return step


def _boolean(result: Collection) -> bool | None:
    """A condition's value: True, False or None (empty); anything else is left to fhirpathpy."""
    if not result:
        return None
    if len(result) == 1 and isinstance(result[0], bool):
        return result[0]
    raise Unsupported("condition")


def _where(criteria: Step) -> Step:
    return lambda focus: [item for item in focus if _boolean(criteria([item])) is True]


def _iif(condition: Step, then: Step, otherwise: Step | None) -> Step:
    def step(focus: Collection) -> Collection:
        if _boolean(condition(focus)) is True:
            return then(focus)
        return otherwise(focus) if otherwise else []

    return step


def _equality(left: Step, literal: str, equal: bool) -> Step:
    def step(focus: Collection) -> Collection:
        values = left(focus)
        if not values:
            return []
        if any(not isinstance(v, str) for v in values):
            raise Unsupported("comparison")
        return [(len(values) == 1 and values[0] == literal) is equal]

    return step


def _logic(left: Step, right: Step, operator: str) -> Step:
    def step(focus: Collection) -> Collection:
        a, b = _boolean(left(focus)), _boolean(right(focus))
        if operator == "and":
            result = False if False in (a, b) else (True if a is True and b is True else None)
        else:
            result = True if True in (a, b) else (False if a is False and b is False else None)
        return [] if result is None else [result]

    return step


def _union(left: Step, right: Step) -> Step:
    def step(focus: Collection) -> Collection:
        out: list = []
        for value in [*left(focus), *right(focus)]:
            if value not in out:
                out.append(value)
        return out

    return step


def _chain(first: Step, then: Step) -> Step:
    return lambda focus: then(first(focus))


def _string(node: dict) -> str:
    text = node["terminalNodeText"][0]
    if "\\" in text or len(text) < 2 or text[0] != "'" or text[-1] != "'":
        raise Unsupported("literal")
    return text[1:-1]


def _identifier(node: dict) -> str:
    name = node["terminalNodeText"][0]
    if not name.isidentifier() or name[0].isupper():
        raise Unsupported(name)  # backticks, type names
    return name


_NO_ARGUMENTS = {
    "first": lambda focus: focus[:1],
    "exists": lambda focus: [bool(focus)],
    "empty": lambda focus: [not focus],
}


def _starts_with(prefix: str) -> Step:
    def step(focus: Collection) -> Collection:
        if not focus:
            return []
        if len(focus) != 1 or not isinstance(focus[0], str):
            raise Unsupported("startsWith")
        return [focus[0].startswith(prefix)]

    return step


def _function(node: dict) -> Step:
    functn = node["children"][0]
    name = functn["children"][0]["terminalNodeText"][0]
    params = functn["children"][1]["children"] if len(functn["children"]) > 1 else []
    if name in _NO_ARGUMENTS and not params:
        return _NO_ARGUMENTS[name]
    if name == "where" and len(params) == 1:
        return _where(_compile(params[0]))
    if name == "startsWith" and len(params) == 1:
        return _starts_with(_literal(params[0]))
    if name == "iif" and len(params) in (2, 3):
        steps = [_compile(p) for p in params]
        return _iif(steps[0], steps[1], steps[2] if len(steps) == 3 else None)
    raise Unsupported(name)


def _invocation(node: dict) -> Step:
    kind = node["type"]
    if kind == "MemberInvocation":
        return _member(_identifier(node["children"][0]))
    if kind == "FunctionInvocation":
        return _function(node)
    raise Unsupported(kind)


def _compile(node: dict) -> Step:
    kind, children = node.get("type"), node.get("children", [])
    operators = node.get("terminalNodeText", [])
    if kind in ("TermExpression", "InvocationTerm"):
        return _compile(children[0]) if kind == "TermExpression" else _invocation(children[0])
    if kind in ("MemberInvocation", "FunctionInvocation"):
        return _invocation(node)
    if kind == "ParenthesizedTerm":
        return _compile(children[0])
    if kind == "InvocationExpression":
        return _chain(_compile(children[0]), _invocation(children[1]))
    if kind == "EqualityExpression" and operators in (["="], ["!="]):
        literal = _literal(children[1])
        return _equality(_compile(children[0]), literal, operators == ["="])
    if kind in ("AndExpression", "OrExpression") and operators in (["and"], ["or"]):
        return _logic(_compile(children[0]), _compile(children[1]), operators[0])
    if kind == "UnionExpression":
        return _union(_compile(children[0]), _compile(children[1]))
    raise Unsupported(kind or "expression")


def _literal(node: dict) -> str:
    """A string literal (an equality's right, startsWith's argument); anything else is unsupported."""
    try:
        term = node["children"][0] if node["type"] == "TermExpression" else None
        literal = term["children"][0] if term and term["type"] == "LiteralTerm" else None
    except (KeyError, IndexError, TypeError):
        literal = None
    if not literal or literal.get("type") != "StringLiteral":
        raise Unsupported("literal")
    return _string(literal)


@lru_cache(maxsize=1024)
def compile_fast(text: str) -> Callable[[dict], list] | None:
    """The expression as a function of one resource, or None when it leaves the subset."""
    try:
        tree = parse(text)
        children = tree.get("children", [])
        if len(children) != 1:
            return None
        step = _compile(children[0])
    # Unsupported, an unexpected tree shape, or fhirpathpy's parser's bare Exceptions: fhirpathpy decides.
    except Exception:
        return None
    return lambda resource: step([resource])
