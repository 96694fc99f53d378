"""Runs a FHIR search over the population: validates parameters, narrows by index, filters, sorts."""

from dataclasses import dataclass, field
from types import ModuleType

from ehr_integrations.sandbox import search_values as sv
from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.search_params import CONTROL_PARAMS, INCLUDES, PARAMS, Param
from ehr_integrations.sandbox.search_values import BadSearchValue
from ehr_integrations.sandbox.strict import StrictOptions

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MODIFIERS = frozenset({"", "exact", "contains"})
_SORT_KEYS = {
    "Appointment": (lambda r: r.start, False),
    "Communication": (lambda r: r.sent, True),
    "MedicationRequest": (lambda r: r.authored_on, True),
}


class SearchRefused(Exception):
    """The search itself is wrong for this server: 400 with an OperationOutcome."""

    def __init__(self, code: str, diagnostics: str) -> None:
        self.code = code
        self.diagnostics = diagnostics
        super().__init__(diagnostics)


@dataclass
class SearchResult:
    ids: list[str]
    count: int
    includes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Criterion:
    name: str
    modifier: str
    values: tuple[str, ...]


def run(
    resource_type: str,
    query: list[tuple[str, str]],
    *,
    population: Population,
    flavour: ModuleType,
    strict: bool,
    options: StrictOptions,
) -> SearchResult:
    """The ids matching the query, in the server's order, with what to include and any warnings.

    `strict` is the client's `Prefer: handling=strict`; `options` the site's strict options."""
    query = _admit_includes(query, options)
    known = {
        name: param
        for name, param in PARAMS[resource_type].items()
        if name not in flavour.UNSUPPORTED_SEARCH_PARAMS.get(resource_type, frozenset())
    }
    criteria, warnings, count, includes = [], [], DEFAULT_COUNT, []
    for key, value in query:
        name, _, modifier = key.partition(":")
        if name == "_count":
            count = _count(value)
        elif name == "_include":
            includes.extend(_include(resource_type, value, warnings, strict))
        elif name in CONTROL_PARAMS:
            continue
        elif name not in known or modifier not in MODIFIERS:
            _unknown(
                f"Unknown or unsupported search parameter {key!r} for {resource_type} was ignored", warnings, strict
            )
        else:
            criteria.append(_Criterion(name, modifier, tuple(sv.alternatives(value))))
    _require_minimum(resource_type, {c.name for c in criteria}, flavour)
    try:
        ids = _filter(resource_type, criteria, known, population, flavour)
    except BadSearchValue as exc:
        raise SearchRefused("invalid", str(exc)) from exc
    _cap(resource_type, len(ids), options)
    return SearchResult(ids=ids, count=count, includes=includes, warnings=warnings)


def _admit_includes(query: list[tuple[str, str]], options: StrictOptions) -> list[tuple[str, str]]:
    """The query without `_include` where the site ignores it; SearchRefused where it refuses it."""
    if options.include == "ok" or not any(key.partition(":")[0] == "_include" for key, _ in query):
        return query
    if options.include == "refused":
        raise SearchRefused("not-supported", "_include is not supported by this server")
    return [(key, value) for key, value in query if key.partition(":")[0] != "_include"]


def _cap(resource_type: str, matched: int, options: StrictOptions) -> None:
    # Epic answers a Patient search past its cap with error 4127 instead of a first page.
    if resource_type == "Patient" and options.result_cap is not None and matched > options.result_cap:
        raise SearchRefused(
            "too-costly", f"4127: too many results; narrow the search (more than {options.result_cap} patients match)"
        )


def _unknown(message: str, warnings: list[str], strict: bool) -> None:
    if strict:
        raise SearchRefused("not-supported", message + " (Prefer: handling=strict)")
    warnings.append(message)


def _count(value: str) -> int:
    if not value.isdigit():
        raise SearchRefused("invalid", "_count must be a non-negative integer")
    return min(int(value), MAX_COUNT)


def _include(resource_type: str, value: str, warnings: list[str], strict: bool) -> list[str]:
    source, _, rest = value.partition(":")
    param = rest.split(":", 1)[0]
    paths = INCLUDES.get(resource_type, {})
    if value == "*":
        return list(dict.fromkeys(paths.values()))
    if source != resource_type or param not in paths:
        _unknown(f"Unsupported _include {value!r} was ignored", warnings, strict)
        return []
    return [paths[param]]


def _require_minimum(resource_type: str, names: set[str], flavour: ModuleType) -> None:
    sets = flavour.MINIMUM_SEARCH_SETS.get(resource_type)
    if sets and not any(required <= names for required in sets):
        options = "; ".join(" + ".join(sorted(required)) for required in sets)
        raise SearchRefused("required", f"{resource_type} search requires one of these parameter sets: {options}")


def _filter(
    resource_type: str,
    criteria: list[_Criterion],
    known: dict[str, Param],
    population: Population,
    flavour: ModuleType,
) -> list[str]:
    table = population.table(resource_type)
    candidates = None
    for criterion in criteria:
        narrowed = _narrow(criterion, known[criterion.name], population, flavour)
        if narrowed is not None and (candidates is None or len(narrowed) < len(candidates)):
            candidates = narrowed
    records = [table[i] for i in dict.fromkeys(candidates) if i in table] if candidates is not None else table.values()
    matched = [
        record
        for record in records
        if all(any(known[c.name].match(record, v, c.modifier, population, flavour) for v in c.values) for c in criteria)
    ]
    if resource_type in _SORT_KEYS:
        key, reverse = _SORT_KEYS[resource_type]
        matched.sort(key=key, reverse=reverse)
    return [record.id for record in matched]


def _narrow(criterion: _Criterion, param: Param, population: Population, flavour: ModuleType) -> list[str] | None:
    if param.index is None:
        return None
    result: list[str] = []
    for value in criterion.values:
        hits = param.index(value, criterion.modifier, population, flavour)
        if hits is None:
            return None
        result.extend(hits)
    return result
