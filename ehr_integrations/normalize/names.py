"""People's names compared as a caller says them and speech recognition spells them.

"José" and "jose", "O'Brien" and "obrien", "Mary-Ann" and "Mary Ann", "Łukasz" and "Lukasz" are the
same name; "Ann" and "Anna" are not (a FHIR string search matches prefixes, a person's name does not).
Accents are dropped only from Latin, Greek and Cyrillic letters: in other scripts a mark changes the
sound (Japanese カトウ and ガトウ, Devanagari राम and रम are different names).
"""

import unicodedata

FOLDED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŧ": "t"})
EXPANDED = {"æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"}
ACCENTED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def _script(ch: str) -> str:
    return unicodedata.name(ch, "").split(" ", 1)[0]


def name_key(name: object) -> str:
    """Letters, marks that matter and digits, without case or Latin/Greek/Cyrillic accents ("" for non-text)."""
    if not isinstance(name, str):
        return ""
    text = "".join(EXPANDED.get(ch, ch) for ch in name.casefold().translate(FOLDED))
    kept: list[str] = []
    base_script = ""
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            if base_script not in ACCENTED_SCRIPTS and kept:
                kept.append(ch)
            continue
        if ch.isalnum() or unicodedata.category(ch) in ("Mc", "Mn"):
            kept.append(ch)
            base_script = _script(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def same_name(said: object, recorded: object) -> bool:
    key = name_key(said)
    return bool(key) and key == name_key(recorded)
