"""Requesters name their country in their own language, and the helpdesk answers in it.

A Telegram user types "UK", "Chine", "Inde", "Alemania" or "Deutschland"; the
directory must find the country they mean (not Ukraine, Chile, Samoa, Albania or
Poland), suggest the right one for a misspelling, and name it back in the
requester's language ("Voulez-vous dire Chine ?").
"""

from __future__ import annotations

import pycountry
import pytest

from kb.regions import ALIASES, Country, CountryDirectory, UnknownCountryError


@pytest.fixture(scope="module")
def directory():
    return CountryDirectory()


def code_of(directory, value, language=None):
    return directory.resolve(value, language).code


# -- the reported cases ---------------------------------------------------------------------------

@pytest.mark.parametrize("language", [None, "en", "uk", "fr"])
def test_a_requester_typing_uk_gets_the_united_kingdom_not_ukraine(directory, language):
    assert code_of(directory, "UK", language) == "GB"
    assert code_of(directory, "u.k.", language) == "GB"
    assert directory.resolve("UA").name == "Ukraine"  # Ukraine's own code still works


@pytest.mark.parametrize("language", [None, "fr"])
def test_a_french_requester_typing_chine_gets_china_not_chile(directory, language):
    assert code_of(directory, "Chine", language) == "CN"


@pytest.mark.parametrize("language", [None, "fr"])
def test_a_french_requester_typing_inde_gets_india_not_samoa(directory, language):
    assert code_of(directory, "Inde", language) == "IN"


@pytest.mark.parametrize("language", [None, "es"])
def test_a_spanish_requester_typing_alemania_gets_germany_not_albania(directory, language):
    assert code_of(directory, "Alemania", language) == "DE"


@pytest.mark.parametrize("language", [None, "de"])
def test_a_german_requester_typing_deutschland_gets_germany_not_poland(directory, language):
    assert code_of(directory, "Deutschland", language) == "DE"


@pytest.mark.parametrize(("value", "language", "code"), [
    ("Reino Unido", None, "GB"), ("Reino Unido", "es", "GB"),
    ("Allemagne", None, "DE"), ("Allemagne", "fr", "DE"),
])
def test_reino_unido_and_allemagne_are_no_longer_unknown(directory, value, language, code):
    assert code_of(directory, value, language) == code


def test_a_country_found_by_a_foreign_name_keeps_its_english_name_and_region(directory):
    assert directory.resolve("Deutschland", "de") == Country("DE", "Germany", "Europe and Central Asia")
    assert directory.resolve("Chine", "fr") == Country("CN", "China", "Asia and the Pacific")


# -- short forms and aliases ----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "code"), [
    ("UK", "GB"), ("U.K.", "GB"), ("Great Britain", "GB"), ("Britain", "GB"), ("England", "GB"),
    ("Scotland", "GB"), ("Wales", "GB"),
    ("USA", "US"), ("U.S.A.", "US"), ("US", "US"), ("U.S.", "US"), ("United States", "US"), ("America", "US"),
    ("EEUU", "US"), ("EE.UU.", "US"), ("EE. UU.", "US"), ("États-Unis", "US"), ("etats unis", "US"),
    ("UAE", "AE"), ("EAU", "AE"), ("DRC", "CD"), ("RDC", "CD"), ("Russia", "RU"),
    ("South Korea", "KR"), ("Corée du Sud", "KR"), ("Corea del Sur", "KR"), ("Ivory Coast", "CI"),
    ("Holland", "NL"), ("Vietnam", "VN"), ("Czechia", "CZ"), ("Turkey", "TR"), ("Türkiye", "TR"),
    ("Bolivia", "BO"), ("Venezuela", "VE"), ("Iran", "IR"), ("Syria", "SY"), ("Laos", "LA"),
    ("Tanzania", "TZ"), ("Moldova", "MD"),
])
def test_requesters_can_use_common_short_forms(directory, value, code):
    assert code_of(directory, value) == code


def test_an_alias_that_looks_like_a_code_never_hides_another_country():
    for code, aliases in ALIASES.items():
        for alias in aliases:
            letters = alias.upper()
            record = pycountry.countries.get(alpha_2=letters) if len(letters) == 2 else (
                pycountry.countries.get(alpha_3=letters) if len(letters) == 3 else None)
            assert record is None or record.alpha_2 == code, alias


# -- codes and existing behaviour -----------------------------------------------------------------

@pytest.mark.parametrize("value", ["GH", "GHA", "gh", " gha "])
def test_codes_still_work(directory, value):
    assert directory.resolve(value) == Country("GH", "Ghana", "Africa")
    assert directory.resolve(value, "fr").code == "GH"


def test_by_code_stays_strict(directory):
    assert directory.by_code("de").name == "Germany"
    with pytest.raises(UnknownCountryError):
        directory.by_code("Deutschland")
    with pytest.raises(UnknownCountryError):
        directory.by_code("UK")


@pytest.mark.parametrize(("value", "code"), [
    ("ALLEMAGNE", "DE"), ("cote d'ivoire", "CI"), ("Côte d’Ivoire", "CI"), ("Turquia", "TR"),
    ("guinea bissau", "GW"), ("Viet Nam", "VN"), ("Bundesrepublik Deutschland", "DE"),
])
def test_names_ignore_case_accents_and_punctuation(directory, value, code):
    assert code_of(directory, value) == code


def test_an_official_name_resolves_in_the_requesters_own_language(directory):
    assert code_of(directory, "Królestwo Szwecji", "pl") == "SE"
    assert code_of(directory, "République fédérale d'Allemagne") == "DE"  # French: a widely used language


def test_a_name_shared_by_two_catalogues_prefers_english_over_the_others(directory):
    # The Faroese catalogue calls American Samoa "Sámoa", the Guarani one mistranslates Malaysia as "Mexico".
    assert code_of(directory, "Samoa") == "WS"
    assert code_of(directory, "Mexico") == "MX"


@pytest.mark.parametrize("language", ["fr", "es", "de", "pt", "it", "ru", "ar", "zh_CN"])
def test_every_country_named_in_a_major_language_resolves_back(directory, language):
    for record in pycountry.countries:
        shown = directory.name(record.alpha_2, language)
        assert code_of(directory, shown, language) == record.alpha_2, shown
        assert code_of(directory, shown) == record.alpha_2, shown  # what the chat does with a suggestion


# -- unknown and misspelt names -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["Narnia", "Qwerty", "Hello", "Atlantis"])
def test_an_unknown_word_is_refused_without_far_fetched_suggestions(directory, value):
    with pytest.raises(UnknownCountryError) as caught:
        directory.resolve(value)
    assert caught.value.suggestions == ()
    assert caught.value.value == value and "not an ISO 3166 country" in str(caught.value)


@pytest.mark.parametrize(("value", "language", "expected"), [
    ("Ghanna", None, "Ghana"), ("Senegl", None, "Senegal"), ("Untied Kingdom", None, "United Kingdom"),
    ("Germny", "en", "Germany"), ("Phillipines", None, "Philippines"),
    ("Allemange", "fr", "Allemagne"), ("Espange", "fr", "Espagne"), ("Royaume-Unis", "fr", "Royaume-Uni"),
    ("Senegl", "fr", "Sénégal"), ("Maruecos", "es", "Marruecos"), ("Alemannia", "es", "Alemania"),
])
def test_a_misspelt_country_gets_the_right_suggestion_in_the_requesters_language(directory, value, language,
                                                                                   expected):
    with pytest.raises(UnknownCountryError) as caught:
        directory.resolve(value, language)
    assert caught.value.suggestions[0] == expected
    assert expected in str(caught.value)
    assert directory.suggest(value, language=language)[0] == expected


def test_the_chat_can_confirm_a_suggestion_by_resolving_it(directory):
    with pytest.raises(UnknownCountryError) as caught:
        directory.resolve("Allemange", "fr")
    assert directory.resolve(caught.value.suggestions[0]).code == "DE"


@pytest.mark.parametrize(("value", "language", "expected"), [
    ("Korea", None, ("South Korea", "North Korea")), ("Corée", "fr", ("Corée du Sud", "Corée du Nord")),
    ("Corea", "es", ("Corea del Sur", "Corea del Norte")),
])
def test_a_requester_typing_just_korea_is_offered_both_koreas(directory, value, language, expected):
    with pytest.raises(UnknownCountryError) as caught:
        directory.resolve(value, language)
    assert caught.value.suggestions == expected


@pytest.mark.parametrize("value", ["Republic", "Islands", "United", "of", "d"])
def test_a_word_found_in_many_country_names_suggests_nothing(directory, value):
    assert directory.suggest(value) == ()


def test_suggestions_are_limited_and_distinct(directory):
    suggestions = directory.suggest("Nigerai", limit=2)
    assert suggestions == ("Nigeria", "Niger")
    assert directory.suggest("Guinea", limit=10) == tuple(dict.fromkeys(directory.suggest("Guinea", limit=10)))
    assert directory.suggest("") == ()


# -- names in the requester's language ------------------------------------------------------------

@pytest.mark.parametrize(("code", "language", "expected"), [
    ("CN", "fr", "Chine"), ("DE", "es", "Alemania"), ("GB", "fr", "Royaume-Uni"), ("GB", "es", "Reino Unido"),
    ("DE", "de", "Deutschland"), ("KR", "fr", "Corée du Sud"), ("BO", "es", "Bolivia"),
    ("US", "pt-BR", "Estados Unidos"), ("GHA", "fr", "Ghana"), ("de", "fr", "Allemagne"),
])
def test_the_chat_names_the_country_in_the_requesters_language(directory, code, language, expected):
    assert directory.name(code, language) == expected


def test_names_default_to_english_for_english_or_unknown_languages(directory):
    assert directory.name("DE") == "Germany"
    assert directory.name("KR", "en") == "South Korea"
    assert directory.name("VN", None) == "Vietnam"
    assert directory.name("DE", "xx") == "Germany"
    with pytest.raises(UnknownCountryError):
        directory.name("ZZ", "fr")
