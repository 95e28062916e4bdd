"""The concept table finds a text's concepts as a reader would: the longest term first, left to right,
each word in at most one concept, and a term listed under two concepts belongs to the first."""

from kb.concepts import ConceptTable
from kb.matching import Analyser


def words(text: str, _language: str) -> list[str]:
    return text.lower().split()


TABLE = ConceptTable([
    {"id": "annual_leave", "en": ["annual leave", "paid annual leave", "holiday entitlement"]},
    {"id": "leave", "en": ["leave"]},
    {"id": "maternity", "en": ["maternity leave", "leave for mothers"]},
    {"id": "holiday_pay", "en": ["holiday entitlement", "holiday pay"]},  # "holiday entitlement" again
], words)


def test_the_longest_term_wins_and_its_words_are_not_read_again():
    assert TABLE.find(words("Paid annual leave and maternity leave", "en"), "en") == ["annual_leave", "maternity"]
    assert TABLE.find(words("leave for mothers on leave", "en"), "en") == ["maternity", "leave"]
    assert TABLE.find(words("annual", "en"), "en") == []


def test_a_term_under_two_concepts_belongs_to_the_first_and_other_languages_find_nothing():
    assert TABLE.find(words("our holiday entitlement and holiday pay", "en"), "en") == ["annual_leave",
                                                                                        "holiday_pay"]
    assert TABLE.find(words("annual leave", "fr"), "fr") == []


def test_the_shipped_table_meets_across_languages():
    analyser = Analyser(concepts=True)
    found = {language: set(analyser.concepts.find(analyser.stems(text, language), language))
             for language, text in (("en", "How many days of paid annual leave?"),
                                    ("fr", "Combien de jours de congés payés ?"),
                                    ("es", "¿Cuántos días de vacaciones pagadas?"))}
    assert found["en"] & found["fr"] & found["es"]
