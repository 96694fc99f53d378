"""The shipped list of controlled-substance ingredients (lists/controlled_substances.yaml), and the check."""

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

LIST = Path(__file__).with_name("lists") / "controlled_substances.yaml"  # not a vendor preset


@functools.cache
def shipped() -> tuple[tuple[str, str], ...]:
    """(RxNorm ingredient code, ingredient name) of every shipped entry."""
    entries = yaml.safe_load(LIST.read_text())["ingredients"]
    return tuple((str(e["rxnorm"]), str(e["name"]).lower()) for e in entries)


def is_controlled(
    *, codes: Iterable[str], name: str | None, ingredients: Iterable[tuple[str, str]] | None = None
) -> bool:
    """Whether a medicine (its RxNorm codes and its name) contains a listed ingredient."""
    listed = tuple(ingredients if ingredients is not None else shipped())
    wanted = set(codes)
    words = set(re.findall(r"[a-z]+", (name or "").lower()))
    return any(code in wanted or ingredient in words for code, ingredient in listed)
