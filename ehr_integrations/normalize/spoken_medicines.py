"""Medicine names as a pharmacist says them: "lisinopril 10 MG Oral Tablet" -> "lisinopril 10 milligrams".

RxNorm and EHR display names carry dose-form codes and unit abbreviations a voice reads badly
("0.09 MG/ACTUAT Metered Dose Inhaler"). The spoken name keeps what tells two medicines apart (the
ingredient, the strength of a tablet, the release, the device) and drops the rest. It never adds a
fact: a strength in a unit not known here is left out rather than read as letters.
"""

import re
from dataclasses import dataclass

UNITS = {  # abbreviation -> (singular, plural)
    "MG": ("milligram", "milligrams"),
    "MCG": ("microgram", "micrograms"),
    "UG": ("microgram", "micrograms"),
    "µG": ("microgram", "micrograms"),
    "G": ("gram", "grams"),
    "ML": ("milliliter", "milliliters"),
    "MEQ": ("milliequivalent", "milliequivalents"),
    "UNT": ("unit", "units"),
    "UNIT": ("unit", "units"),
    "UNITS": ("unit", "units"),
    "IU": ("unit", "units"),
    "%": ("percent", "percent"),
}
# Form words (lowercase, longest first) -> what is said; "" drops the words (a tablet is the default).
FORMS = (
    ("metered dose inhaler", "inhaler"),
    ("dry powder inhaler", "inhaler"),
    ("inhalation aerosol", "inhaler"),
    ("inhalation powder", "inhaler"),
    ("inhaler", "inhaler"),
    ("aers", "inhaler"),
    ("nasal spray", "nasal spray"),
    ("ophthalmic solution", "eye drops"),
    ("eye drops", "eye drops"),
    ("transdermal patch", "patch"),
    ("patch", "patch"),
    ("prefilled syringe", "injection"),
    ("pen injector", "injection"),
    ("auto-injector", "injection"),
    ("injectable solution", "injection"),
    ("injectable suspension", "injection"),
    ("injection", "injection"),
    ("inj", "injection"),
    ("topical cream", "cream"),
    ("cream", "cream"),
    ("topical ointment", "ointment"),
    ("ointment", "ointment"),
    ("oral suspension", "liquid"),
    ("oral solution", "liquid"),
    ("syrup", "liquid"),
    ("susp", "liquid"),
    ("soln", "liquid"),
)
EXTENDED = ("extended release", "extended-release", "24 hr", "12 hr", "er", "xr", "xl", "sr", "tb24", "cp24", "tb12")
DELAYED = ("delayed release", "delayed-release", "enteric coated", "dr", "ec", "tbec", "cpdr")
RELEASES = ((EXTENDED, "extended-release"), (DELAYED, "delayed-release"))
# Salt and hydrate words people leave out ("metformin hydrochloride" is "metformin"); never the first word.
SALTS = frozenset({"hydrochloride", "hcl", "sodium", "potassium", "calcium", "besylate", "hyclate", "monohydrate"})
RELEASE_ABBREVIATIONS = frozenset({"er", "xr", "xl", "sr", "dr", "ec"})  # "metformin ER 500 MG"
_STRENGTH = re.compile(
    r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>%|[A-Za-zµ]+)(?:\s*/\s*(?P<per>\d*\.?\d*\s*[A-Za-z]+))?", re.UNICODE
)
_BRACKETS = re.compile(r"[\[({][^\])}]*[\])}]")


@dataclass(frozen=True)
class SpokenMedicine:
    ingredient: str  # "metformin": enough to name it when no other medicine shares it
    full: str  # "metformin 500 milligrams"


def _amount(text: str) -> str:
    value = float(text)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _strength(amount: str, unit: str) -> str | None:
    key = unit.upper().replace("Μ", "µ")
    if key not in UNITS:
        return None
    value = float(amount)
    if key == "MG" and 0 < value < 1 and (value * 1000).is_integer():  # 0.05 mg is said "50 micrograms"
        amount, key = str(int(value * 1000)), "MCG"
    singular, many = UNITS[key]
    return f"{_amount(amount)} {singular if float(amount) == 1 else many}"


def _find(words: str, table: tuple) -> str | None:
    padded = f" {words} "
    for spellings, said in table:
        for spelling in (spellings,) if isinstance(spellings, str) else spellings:
            if f" {spelling} " in padded:
                return said
    return None


def _ingredient(text: str) -> str:
    words = [w for w in re.split(r"\s+", text.strip(" ,-")) if w]
    dropped = SALTS | RELEASE_ABBREVIATIONS
    kept = words[:1] + [w for w in words[1:] if w.lower().strip(",") not in dropped]
    said = " ".join(kept)
    return said.lower() if said.isupper() or said.islower() else said


def spoken_medicine(name: str | None) -> SpokenMedicine | None:
    """ "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler" -> "albuterol inhaler"; "levothyroxine sodium 0.05 MG
    Oral Tablet" -> "levothyroxine 50 micrograms"; a combination names its ingredients without strengths."""
    if not name or not name.strip():
        return None
    text = " ".join(_BRACKETS.sub(" ", name).split())
    parts = [p for p in re.split(r"\s+/\s+", text) if p]
    if len(parts) > 1 and all(_STRENGTH.search(p) for p in parts):  # "lisinopril 20 MG / hydrochlorothiazide 12.5 MG"
        names = [_ingredient(p[: _STRENGTH.search(p).start()]) for p in parts]
        joined = " and ".join(n for n in names if n)
        return SpokenMedicine(joined, joined) if joined else None
    match = _STRENGTH.search(text)
    head, tail = (text[: match.start()], text[match.end() :]) if match else (text, "")
    ingredient = _ingredient(head) or _ingredient(text)
    form_words = " ".join(re.sub(r"[^\w\s-]", " ", tail.lower()).split())
    head_words = " ".join(head.lower().split()[1:])
    device = _find(form_words, FORMS)
    release = _find(form_words, RELEASES) or _find(head_words, RELEASES)
    strength = _strength(match["amount"], match["unit"]) if match and not match["per"] else None
    said = " ".join(w for w in (ingredient, release, None if device else strength, device) if w)
    return SpokenMedicine(ingredient=ingredient, full=said)
