"""Words a voice can read: people, places and phone numbers as a person would say them.

EHRs hand names over in their own shapes ("Patel, Anita MD", "TOMAS RUIZ", "Anita Patel, NP");
these functions turn them into what a receptionist would say ("Dr. Anita Patel", "Tomas Ruiz",
"nurse practitioner Anita Patel"). They never add a fact: a name they cannot read stays as given.
"""

import re
from collections.abc import Sequence

# Credentials after a name -> how the person is introduced. Doctors of any kind are "Dr.".
DOCTORS = frozenset({"MD", "DO", "PHD", "DPM", "DDS", "DMD", "OD", "PSYD", "DNP", "DC", "MBBS", "DR"})
ROLES = {
    "NP": "nurse practitioner",
    "FNP": "nurse practitioner",
    "FNP-C": "nurse practitioner",
    "CNP": "nurse practitioner",
    "APRN": "nurse practitioner",
    "ANP": "nurse practitioner",
    "PA": "physician assistant",
    "PA-C": "physician assistant",
    "RN": "nurse",
    "CNM": "nurse midwife",
}
# Letters said one by one; every other all-capitals word is read as a word in natural case.
ACRONYMS = frozenset({"AM", "PM", "MRI", "ER", "ICU", "ENT", "OB", "GYN", "OB/GYN", "UCLA", "VA", "US", "HIV", "CT"})
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NUMBER_WORDS = DIGIT_WORDS + ("ten",)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_CREDENTIAL = re.compile(r"^[A-Za-z][A-Za-z.\-]{0,6}$")


def number(count: int) -> str:
    """Small counts in words ("two refills"), larger ones as digits a voice reads well."""
    return NUMBER_WORDS[count] if 0 <= count < len(NUMBER_WORDS) else str(count)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{number(count)} {word if count == 1 else words or word + 's'}"


def spoken_list(words: Sequence[str], *, at_most: int = 3, more: str = "more") -> str:
    """ "a", "a and b", "a, b, and c", or "a, b, c, and two more" past `at_most`."""
    words = list(words)
    if len(words) > at_most:
        words = words[:at_most] + [f"{number(len(words) - at_most)} {more}"]
    if len(words) <= 2:
        return " and ".join(words)
    return f"{', '.join(words[:-1])}, and {words[-1]}"


def digits(text: str) -> str:
    """ "0142" -> "zero one four two": a number read digit by digit, never as "one hundred forty-two"."""
    return " ".join(DIGIT_WORDS[int(d)] for d in text if d.isdigit())


def phone_number(e164: str) -> str:
    """A North American number in the groups people say: "five five five, one two three, four five six seven"."""
    found = re.sub(r"\D", "", e164 or "")
    found = found[1:] if len(found) == 11 and found.startswith("1") else found
    if len(found) != 10:
        return ", ".join(digits(found[i : i + 3]) for i in range(0, len(found), 3))
    return f"{digits(found[:3])}, {digits(found[3:6])}, {digits(found[6:])}"


def _capitalize(word: str) -> str:
    """One name word in natural case: "mcdonald" -> "McDonald", "o'brien" -> "O'Brien"."""
    lower = word.lower()
    if lower.startswith("mc") and len(lower) > 2:
        return "Mc" + lower[2:].capitalize()
    return re.sub(r"(^|['’])(\w)", lambda m: m.group(1) + m.group(2).upper(), lower)


def natural_case(text: str) -> str:
    """Text in one case ("TOMAS RUIZ", "tomas ruiz") in natural case; text already mixed stays as written."""
    letters = [c for c in text if c.isalpha()]
    if not letters or not (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
        return text
    return _WORD.sub(lambda m: m.group(0) if m.group(0) in ACRONYMS else _capitalize(m.group(0)), text)


def _split_credentials(name: str) -> tuple[str, list[str]]:
    """ "Anita Patel, MD, PhD" -> ("Anita Patel", ["MD", "PHD"]); "Patel, Anita MD" -> ("Patel, Anita", ["MD"])."""
    words = name.replace(",", " , ").split()
    found: list[str] = []
    while words and (words[-1] == "," or _is_credential(words[-1])):
        word = words.pop()
        if word != ",":
            found.insert(0, word.replace(".", "").upper())
    return " ".join(words).replace(" , ", ", ").strip(" ,"), found


def _is_credential(word: str) -> bool:
    key = word.replace(".", "").upper()
    return bool(_CREDENTIAL.match(word)) and (key in DOCTORS or key in ROLES)


def person(name: str | None) -> str | None:
    """A clinician or sender as introduced aloud: "Patel, Anita MD" -> "Dr. Anita Patel"."""
    if not name or not name.strip():
        return None
    text = " ".join(name.split())
    title = None
    if re.match(r"(?i)^dr\.?\s", text):
        title, text = "Dr.", text.split(None, 1)[1]
    text, credentials = _split_credentials(text)
    if "," in text:  # "Family, Given Middle"
        family, given = (part.strip() for part in text.split(",", 1))
        text = f"{given} {family}".strip()
    text = natural_case(text)
    if title or any(c in DOCTORS for c in credentials):
        return f"Dr. {text}"
    role = next((ROLES[c] for c in credentials if c in ROLES), None)
    return f"{role} {text}" if role else text


def patient_name(given: str | None, family: str | None) -> str:
    return " ".join(natural_case(n.strip()) for n in (given, family) if n and n.strip())


def place(name: str | None) -> str | None:
    """A clinic or department name in natural case, without codes in brackets."""
    if not name or not name.strip():
        return None
    text = re.sub(r"\s*[\[(].*?[\])]\s*", " ", name)
    return natural_case(" ".join(text.split())) or None


def with_article(name: str) -> str:
    """ "Riverside nurse line" -> "the Riverside nurse line"; a person or a name with its own article stays."""
    first = name.split()[0] if name.split() else ""
    if first.lower() in ("the", "a", "an", "dr.", "our", "your") or "'s " in name:
        return name
    return f"the {name}"
