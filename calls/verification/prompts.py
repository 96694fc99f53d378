"""What verification asks the caller next: one identifier per turn, as a question a voice can read.

A caller asked for three things at once ("your SSN last four, family name and given name?")
answers one of them. So `needs_more` names the next identifier (`ask`, the first of `missing`,
which lists them in the order the policy does: its factor sets as written, then the name parts
it always asks for) and a spoken question for it (`prompt`); `say` is that question with the
words before it that fit the turn. The full `missing` list stays for agents that want it.
Never PHI: a prompt names a kind of identifier, never a value.
"""

from collections.abc import Mapping

from calls.outcomes import NeedsMore

# Identifier -> what the caller is asked for, as said in the middle of a sentence.
ASKED_FOR = {
    "date_of_birth": "your date of birth",
    "ssn_last4": "the last four digits of your Social Security number",
    "mrn": "your medical record number",
    "phone": "the phone number on your record",
    "family_name": "your last name",
    "given_name": "your first name",
}
FIRST_TURN = "To confirm who you are, could you tell me {asked}?"
NEXT_TURN = "{thanks} Could you tell me {asked}?"
THANKS = ("Thank you.", "Got it, thanks.", "Thanks.")  # not the same words turn after turn
NO_NEW_DETAIL = "Could you tell me {asked}?"
# After a complete factor set that did not verify: the same words whichever factor was wrong.
AFTER_FAILURE = "Sorry, let's try again. Could you tell me {asked}?"
ALL_GIVEN = "Thank you. One moment while I check those details."


def prompt_for(identifier: str) -> str:
    """ "Could you tell me your date of birth?" """
    return NO_NEW_DETAIL.format(asked=ASKED_FOR.get(identifier, "one more detail"))


def first_prompt(missing: list[str]) -> str:
    """The opening question of verification (the call's `verification.prompt`)."""
    return FIRST_TURN.format(asked=ASKED_FOR.get(missing[0], "a few details")) if missing else ALL_GIVEN


def _say(ask: str | None, *, given: Mapping[str, object], said: Mapping[str, object], failed: bool) -> str:
    asked = ASKED_FOR.get(ask or "", "a few details")
    if failed:
        return AFTER_FAILURE.format(asked=asked)
    if not given:
        return FIRST_TURN.format(asked=asked)
    if not said:
        return NO_NEW_DETAIL.format(asked=asked)
    return NEXT_TURN.format(thanks=THANKS[(len(given) - 1) % len(THANKS)], asked=asked)


def needs_more(
    *,
    missing: list[str],
    attempts_left: int,
    given: Mapping[str, object],
    said: Mapping[str, object],
    failed: bool = False,
) -> NeedsMore:
    """The `needs_more` answer: `missing` as the policy lists it, the one identifier to ask now and its question.

    `given` is everything the caller has given so far, `said` what this turn added, `failed` whether a
    complete factor set was just refused (then the caller starts again from the first identifier).
    """
    ask = missing[0] if missing else None
    return NeedsMore(
        missing=missing,
        attempts_left=attempts_left,
        say=_say(ask, given=given, said=said, failed=failed),
        ask=ask,
        prompt=prompt_for(ask) if ask else None,
    )
