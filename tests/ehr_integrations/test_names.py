"""Names compared as speech recognition spells them, without merging names that differ."""

import pytest

from ehr_integrations.normalize.names import same_name


@pytest.mark.parametrize(
    ("said", "recorded"),
    [("jose", "José"), ("obrien", "O'Brien"), ("Mary Ann", "Mary-Ann"), ("Lukasz", "Łukasz"), ("Ore", "Øre"),
     ("MULLER", "Müller"), ("strasse", "Straße"), ("o’neil", "O'Neil")],
)  # fmt: skip
def test_the_same_name_as_a_caller_says_it(said, recorded):
    assert same_name(said, recorded)


@pytest.mark.parametrize(
    ("said", "recorded"),
    [("Ann", "Anna"), ("カトウ", "ガトウ"), ("サドウ", "サトウ"), ("रम", "राम"), ("सत", "सीता"), ("---", "---"),
     ("", ""), (None, None)],
)  # fmt: skip
def test_different_names_stay_different(said, recorded):
    assert not same_name(said, recorded)
