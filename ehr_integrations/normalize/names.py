"""People's names compared as a caller says them and speech recognition spells them.

"José" and "jose", "O'Brien" and "obrien", "Mary-Ann" and "Mary Ann" are the same name; "Ann" and
"Anna" are not (a FHIR string search matches prefixes, a person's name does not).
"""

import unicodedata


def name_key(name: object) -> str:
    """Letters and digits only, without case or accents ("" for anything that is not text)."""
    if not isinstance(name, str):
        return ""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def same_name(said: object, recorded: object) -> bool:
    key = name_key(said)
    return bool(key) and key == name_key(recorded)
