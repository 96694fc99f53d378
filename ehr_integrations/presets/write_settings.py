"""A site's write settings (issue 21, Decisions): the YAML's `writes:` section beside `capabilities:`,
and HealthSystem.write_settings in the admin. Anything left out keeps the default; validation names
the key at fault.

    task_owner: Organization/refill-desk       # a refill Task's owner; default the prescriber
    message_recipient: Organization/clinic-inbox   # a care-team message's recipient; default none
    turnaround: they usually answer within two business days
    message_topics: {clinic: a question for the clinic, billing: billing, records: medical records}
    controlled_ingredients: [{rxnorm: "8001", name: pregabalin}]   # added to the shipped list
    excluded_medications: [{rxnorm: "1234", name: isotretinoin}]   # routed to the pharmacy too
    urgent_words: [black stool]                # added to the shipped list (never removes from it)
"""

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml
from django.core.exceptions import ValidationError

from ehr_integrations.presets.controlled import shipped

URGENT_LIST = Path(__file__).with_name("lists") / "urgent_words.yaml"
REFERENCE = re.compile(r"^(Practitioner|PractitionerRole|Organization|CareTeam|Group)/[A-Za-z0-9\-.]{1,64}$")
TOPIC_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_TURNAROUND = "they usually answer within two business days"
DEFAULT_TOPICS = MappingProxyType(
    {
        "clinic": "a question for the clinic",
        "prescription": "a question about a prescription",
        "billing": "a billing question",
        "records": "a medical records request",
    }
)
KEYS = frozenset(
    {"task_owner", "message_recipient", "turnaround", "message_topics", "controlled_ingredients",
     "excluded_medications", "urgent_words"}
)  # fmt: skip


@dataclass(frozen=True)
class WriteSettings:
    task_owner: str | None
    message_recipient: str | None
    turnaround: str
    topics: Mapping[str, str]  # code -> how it is spoken ("a billing question")
    controlled: tuple[tuple[str, str], ...]  # (RxNorm ingredient, name): shipped plus the site's
    excluded: tuple[tuple[str, str], ...]
    urgent: tuple[str, ...]  # lower-case phrases: shipped plus the site's


def _fail(key: str, message: str) -> None:
    raise ValidationError(f"{key}: {message}", code="invalid_write_setting")


def _check_text(key: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\n" in value:
        _fail(key, f"must be one line of text, at most {limit} characters")


def _check_medicines(key: str, value: object) -> None:
    if not isinstance(value, list):
        _fail(key, "must be a list of {rxnorm, name} entries")
    for entry in value:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"rxnorm", "name"}
            or not re.fullmatch(r"[0-9]{1,10}", str(entry["rxnorm"]))
            or not re.fullmatch(r"[a-z][a-z\- ]{1,60}", str(entry["name"]))
        ):
            _fail(key, "each entry is {rxnorm: digits, name: the ingredient in lower case}")


def _check_topics(value: object) -> None:
    if not isinstance(value, dict) or not value:
        _fail("message_topics", "must map topic codes to how each is spoken")
    for code, spoken in value.items():
        if not isinstance(code, str) or not TOPIC_CODE.match(code):
            _fail("message_topics", f"{code!r} is not a topic code (lower case letters, digits, _)")
        _check_text(f"message_topics.{code}", spoken, 80)


def validate_write_settings(value: object) -> None:
    """Raise ValidationError (code invalid_write_setting) naming the first bad key."""
    if not isinstance(value, dict):
        _fail("writes", "must be a mapping")
    unknown = sorted(set(value) - KEYS)
    if unknown:
        _fail(unknown[0], f"unknown key (known: {', '.join(sorted(KEYS))})")
    for key in ("task_owner", "message_recipient"):
        if key in value and not (isinstance(value[key], str) and REFERENCE.match(value[key])):
            _fail(key, "must be a reference such as Organization/123 or Practitioner/abc")
    if "turnaround" in value:
        _check_text("turnaround", value["turnaround"], 120)
    if "message_topics" in value:
        _check_topics(value["message_topics"])
    for key in ("controlled_ingredients", "excluded_medications"):
        if key in value:
            _check_medicines(key, value[key])
    if "urgent_words" in value:
        words = value["urgent_words"]
        if not isinstance(words, list):
            _fail("urgent_words", "must be a list of words or phrases")
        for word in words:
            _check_text("urgent_words", word, 60)


@functools.cache
def shipped_urgent() -> tuple[str, ...]:
    return tuple(str(p).lower() for p in yaml.safe_load(URGENT_LIST.read_text())["phrases"])


def _medicines(entries: list) -> tuple[tuple[str, str], ...]:
    return tuple((str(e["rxnorm"]), str(e["name"]).lower()) for e in entries)


def settings_from(value: Mapping) -> WriteSettings:
    """The effective settings from a validated `writes` mapping (an empty one: the defaults)."""
    return WriteSettings(
        task_owner=value.get("task_owner"),
        message_recipient=value.get("message_recipient"),
        turnaround=value.get("turnaround", DEFAULT_TURNAROUND),
        topics=MappingProxyType(dict(value.get("message_topics") or DEFAULT_TOPICS)),
        controlled=shipped() + _medicines(value.get("controlled_ingredients", [])),
        excluded=_medicines(value.get("excluded_medications", [])),
        urgent=shipped_urgent() + tuple(w.lower() for w in value.get("urgent_words", [])),
    )


def _folded(text: str) -> str:
    """The words of a text in plain lower case: compatibility forms (full-width letters) folded, accents
    and apostrophes dropped ("can't" and "cant" alike), anything else a word break."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", re.sub(r"['\u2019]", "", plain)))


def mentions_urgent(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the text names one of the phrases, or its plural ("chest pains"), as whole words, however
    it is written (_folded)."""
    flat = _folded(text)
    return any(re.search(rf"(?<![a-z0-9]){re.escape(_folded(p))}(?:e?s)?(?![a-z0-9])", flat) for p in phrases)
