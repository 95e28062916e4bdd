"""Which countries a query is about, and which organisation the requester writes for.

Queries arrive as long letters (salutation, several paragraphs, a sign-off, a signature with an
address, quoted earlier mail) or as one-line Telegram messages, in English, French or Spanish.
The country concerned is the one the question is about ("our supplier in Guatemala", "au
Maroc", "en el Perú"), not the one in the signature's address nor in the quoted mail, and never
a person called Jordan, a guinea pig or a turkey sandwich. The organisation is read from the
signature ("Head of Compliance, Acme Textiles Ltd") or else from the sender's domain, never
from gmail.com or orange.fr.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from kb.letter_frame import letter_frame
from kb.models import RequesterType
from kb.organisations import OrganisationSuggestion, is_free_mail, suggest_organisation
from kb.places import CountryMention, countries_concerned
from kb.regions import CountryDirectory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def directory():
    return CountryDirectory()


def codes(text, directory, **kwargs):
    return [m.code for m in countries_concerned(text, directory, **kwargs)]


def mention(text, directory, code, **kwargs):
    found = {m.code: m for m in countries_concerned(text, directory, **kwargs)}
    assert code in found, f"{code} not found in {list(found)}"
    return found[code]


# =========================================================================== countries: whole letters

ENGLISH_LETTER = """\
Dear Sir or Madam,

I hope this finds you well. We are a UK-based retailer and one of our suppliers in Guatemala
has asked its workers to do 20 hours of overtime a week during the peak season. Our auditors
say the national law allows it if the workers agree.

Could you tell us what the ILO conventions say on overtime, and whether the MNE Declaration
expects us to do more than local law requires? We also source a little from Honduras.

Best regards,
Jordan Smith
Head of Responsible Sourcing, Northwind Retail Ltd
12 Harbour Road, London, United Kingdom
Tel: +44 20 7946 0018

On Mon, 3 Mar 2025 at 10:12, ILO Helpdesk <helpdesk@example.org> wrote:
> Thank you for your question about Chile.
> Kind regards
"""


def test_an_english_letter_is_about_its_suppliers_country_not_the_signature_nor_the_quote(directory):
    found = countries_concerned(ENGLISH_LETTER, directory, requester_country="GB")
    assert [m.code for m in found][:2] == ["GT", "HN"]
    best = found[0]
    assert best.rank == 1 and best.strong and best.name == "Guatemala" and best.region == "Americas"
    assert "in Guatemala" in best.evidence
    assert any("place word 'in'" in r for r in best.reasons) and any("supplier" in r for r in best.reasons)
    assert "CL" not in [m.code for m in found]  # quoted mail
    assert "JO" not in [m.code for m in found]  # the signer is called Jordan


def test_the_requesters_own_country_is_kept_but_flagged(directory):
    found = countries_concerned(ENGLISH_LETTER, directory, requester_country="GB")
    by_code = {m.code: m for m in found}
    assert "GB" in by_code and by_code["GB"].is_requester_country  # "a UK-based retailer"
    assert not by_code["GT"].is_requester_country
    assert by_code["GT"].rank < by_code["GB"].rank


def test_the_requesters_country_may_be_given_by_name_and_an_unknown_one_is_ignored(directory):
    text = "Notre usine au Maroc et nos bureaux en France."
    assert mention(text, directory, "FR", requester_country="France").is_requester_country
    assert not any(m.is_requester_country for m in countries_concerned(text, directory, requester_country="Atlantis"))


FRENCH_LETTER = """\
Bonjour Madame, Monsieur,

Nous sommes une entreprise française de l'habillement. Notre filiale au Maroc travaille avec
plusieurs fournisseurs marocains, et l'un d'eux emploie des jeunes de 16 ans la nuit.
Lors de la réunion de lundi, la direction a demandé si le code du travail local le permettait.

Pourriez-vous nous indiquer ce que prévoient les conventions de l'OIT ?

Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.

Marie Dupont
Directrice RSE | Groupe Lumière SA
3 rue de la Paix, 75002 Paris, France
Tél. : 01 23 45 67 89
"""


def test_a_french_letter_about_a_subsidiary_au_maroc(directory):
    found = countries_concerned(FRENCH_LETTER, directory, requester_country="FR")
    assert found[0].code == "MA" and found[0].strong
    assert "au Maroc" in found[0].evidence and "marocains" in found[0].evidence
    by_code = {m.code: m for m in found}
    assert by_code["FR"].is_requester_country  # "une entreprise française"
    assert "RE" not in by_code  # "la réunion de lundi" is a meeting


SPANISH_LETTER = """\
Estimados señores:

Espero que se encuentren bien. Tenemos una planta en el Perú y proveedores en Bolivia y Ecuador.
Una planta guatemalteca nos pidió información sobre el trabajo nocturno de los menores.
¿Qué dicen los convenios de la OIT sobre la edad mínima? Le agradecemos responder en español.

Saludos cordiales,
Carlos Pérez
Gerente de Sostenibilidad – Textiles Andinos S.A.C.
Av. Javier Prado 123, Lima, Perú
Tel: +51 1 234 5678
"""


def test_a_spanish_letter_with_a_plant_en_el_peru_and_suppliers_in_a_list(directory):
    found = countries_concerned(SPANISH_LETTER, directory)
    got = [m.code for m in found]
    assert got[0] == "PE" and set(got) == {"PE", "BO", "EC", "GT"}
    assert "en el Perú" in found[0].evidence
    by_code = {m.code: m for m in found}
    assert by_code["BO"].strong and by_code["EC"].strong  # "proveedores en Bolivia y Ecuador"
    assert "guatemalteca" in by_code["GT"].evidence
    assert "ES" not in got  # "responder en español" is a language


UNION_LETTER = """\
Estimados compañeros de la OIT:

Les escribimos desde el Sindicato de Trabajadores de la Maquila en Guatemala. La empresa
estadounidense que compra a nuestra fábrica nos dice que su código de conducta prohíbe el
trabajo forzoso, pero la gerencia local retiene los pasaportes de los trabajadores migrantes
hondureños y nicaragüenses.

¿Qué dicen los convenios 29 y 105? ¿Puede la marca exigir a su proveedor que los devuelva?

Quedamos atentos a su respuesta.

Rosa Quispe
Secretaria General
Sindicato de Trabajadores de la Maquila (SITRAMAQ)
Ciudad de Guatemala, Guatemala
"""

TOP_POSTED_REPLY = """\
Thanks, very clear. One more: does the same apply to our supplier in Turkey?

Regards,
Tom Baker
Ethical Trade Manager | Brightwear PLC

On 2 March 2025 at 09:00, ILO Helpdesk <helpdesk@example.org> wrote:
> Dear Mr Baker,
> In Peru the minimum age for hazardous work is 18.
> Kind regards
"""


def test_a_union_writes_about_its_own_country_and_a_foreign_buyer(directory):
    found = countries_concerned(UNION_LETTER, directory, requester_country="GT")
    by_code = {m.code: m for m in found}
    assert found[0].code == "GT" and found[0].is_requester_country and found[0].strong
    assert set(by_code) == {"GT", "US", "HN", "NI"}  # "estadounidense", "hondureños y nicaragüenses"
    assert "estadounidense" in by_code["US"].evidence
    org = suggest_organisation(UNION_LETTER, "sitramaq@gmail.com")
    assert (org.name, org.source, org.requester_type) == (
        "Sindicato de Trabajadores de la Maquila (SITRAMAQ)", "signature", RequesterType.WORKERS)


def test_a_top_posted_reply_is_about_the_new_question_not_the_quoted_answer(directory):
    assert codes(TOP_POSTED_REPLY, directory) == ["TR"]
    org = suggest_organisation(TOP_POSTED_REPLY, "tom.baker@brightwear.co.uk")
    assert (org.name, org.requester_type) == ("Brightwear PLC", RequesterType.MANAGEMENT)


@pytest.mark.parametrize(("letter", "name"), [
    (ENGLISH_LETTER, "Northwind Retail Ltd"), (FRENCH_LETTER, "Groupe Lumière SA"),
    (SPANISH_LETTER, "Textiles Andinos S.A.C."),
])
def test_the_same_letters_give_their_organisation(letter, name):
    found = suggest_organisation(letter, None)
    assert (found.name, found.source, found.requester_type) == (name, "signature", RequesterType.MANAGEMENT)


def test_a_signature_without_a_sign_off_is_still_left_out(directory):
    text = ("Hello,\n\nCan our factory in Cambodia make workers stay after 10 pm?\n\n"
            "Jane Doe\nAcme Garments Ltd\n12 Harbour Road, Tema, Ghana\nTel: +233 24 123 4567\n")
    assert codes(text, directory) == ["KH"]


def test_quoted_lines_and_forwarded_mail_are_left_out(directory):
    text = ("Thanks, one more thing: does this apply to our mine in Zambia too?\n\n"
            "> You asked about Ghana.\n> Our reply covered Kenya.\n")
    assert codes(text, directory) == ["ZM"]
    text = ("Our plant in Mexico asks the same.\n\n-----Original Message-----\nFrom: x\n"
            "Subject: Brazil\nWe have a question about Brazil.\n")
    assert codes(text, directory) == ["MX"]


def test_a_salutation_naming_a_person_is_left_out(directory):
    assert codes("Hi Jordan,\n\nwe have a factory in Jordan.", directory) == ["JO"]
    assert codes("Dear Georgia,\n\nCan I ask about overtime rules for our staff?\n\nThanks", directory) == []
    assert codes("Hello Chad, quick question on maternity leave.", directory) == []


def test_long_email_ranking_puts_the_country_of_operations_before_one_named_in_passing(directory):
    text = ("Good morning,\n\nWe read an interesting report about Myanmar last week. "
            "Our question concerns our garment factory in Cambodia, where the union asked for "
            "a collective agreement. What does the MNE Declaration say?\n\nKind regards,\nAna")
    found = countries_concerned(text, directory)
    assert [m.code for m in found] == ["KH", "MM"]
    assert found[0].strong and not found[1].strong
    assert "named in passing" in found[1].reasons
    assert found[0].score > found[1].score


def test_a_country_named_many_times_ranks_higher_than_one_named_once(directory):
    text = ("We source from Vietnam. Vietnam has new overtime rules. Workers in Vietnam complained. "
            "We also buy from Laos.")
    found = countries_concerned(text, directory)
    assert found[0].code == "VN" and "named 3 times" in found[0].reasons


# =========================================================================== countries: chat one-liners


@pytest.mark.parametrize(("text", "expected"), [
    ("can we hire 16 year olds in our packaging plant in ghana?", ["GH"]),
    ("Our supplier in Guatemala pays below minimum wage", ["GT"]),
    ("factory in viet nam - overtime limit?", ["VN"]),
    ("Vietnam: is a 6-day week legal?", ["VN"]),
    ("Can we ask workers in Côte d'Ivoire to work on Sundays?", ["CI"]),
    ("cocoa farms in Ivory Coast and child labour", ["CI"]),
    ("trabajo infantil en Costa de Marfil", ["CI"]),
    ("nos plantations en Côte-d'Ivoire", ["CI"]),
    ("Nos fournisseurs aux États-Unis", ["US"]),
    ("nos fournisseurs aux Etats-Unis", ["US"]),
    ("Tenemos oficinas en los Estados Unidos", ["US"]),
    ("filiales en EE. UU. y en México", ["US", "MX"]),
    ("We have two warehouses in the UK", ["GB"]),
    ("our warehouse in the U.K.", ["GB"]),
    ("Does the US allow this?", ["US"]),
    ("our plants in the U.S. and Canada", ["US", "CA"]),
    ("en Perú, ¿cuál es la edad mínima?", ["PE"]),
    ("en Peru la jornada es de 48 horas", ["PE"]),
    ("usine au Pérou", ["PE"]),
    ("WORKERS IN PERU ARE ON STRIKE", ["PE"]),
    ("Bangladeshi factories and fire safety", ["BD"]),
    ("une usine marocaine refuse le syndicat", ["MA"]),
    ("la planta guatemalteca no paga horas extra", ["GT"]),
    ("Our Indonesian suppliers ask about overtime", ["ID"]),
    ("Quelles règles en Inde ?", ["IN"]),
    ("¿Y en la India?", ["IN"]),
    ("What about South Korea?", ["KR"]),
    ("Is forced labour an issue in North Korea?", ["KP"]),
    ("trabajo forzoso en Corea del Norte", ["KP"]),
    ("recrutement en République démocratique du Congo", ["CD"]),
    ("mining in the DRC", ["CD"]),
    ("maquilas en El Salvador", ["SV"]),
    ("Our plant in Sri Lanka", ["LK"]),
    ("travail des enfants en Afrique du Sud", ["ZA"]),
    ("jornada laboral en Sudáfrica", ["ZA"]),
    ("workers recruited in Nepal for jobs in Qatar", ["NP", "QA"]),
    ("migrant workers from Nepal and Bangladesh in Saudi Arabia", ["NP", "BD", "SA"]),
    ("trabajadores en Arabia Saudita", ["SA"]),
    ("Türkiye: Syrian refugees in garment factories", ["TR", "SY"]),
    ("des ouvriers en Turquie", ["TR"]),
])
def test_chat_one_liners_in_three_languages(directory, text, expected):
    assert codes(text, directory) == expected


@pytest.mark.parametrize("text", [
    "Hello, can you help?",
    "How many days of paid leave does C132 require?",
    "Merci beaucoup pour votre réponse rapide !",
    "¿Cuántas horas extra están permitidas?",
    "",
    "   \n  ",
])
def test_no_country_no_mention(directory, text):
    assert countries_concerned(text, directory) == []


# =========================================================================== countries: the traps


@pytest.mark.parametrize("text", [
    "Jordan Smith from our HR team asked about night work for pregnant workers.",
    "As Michael Jordan said, you miss all the shots you don't take; our question is on overtime.",
    "My name is Chad and I run a small bakery. Is overtime pay compulsory?",
    "Mr Chad asked me to write to you about paid leave.",
    "Mr. Jordan asked me to write to you about paid leave.",
    "La Sra. Georgia pidió información sobre las vacaciones.",
    "Ms. Kenya Moore, our HR lead, has a question on parental leave.",
    "Our plant is in Atlanta, Georgia and we want to know about the ILO's view on overtime.",
    "We breed guinea pigs for laboratories; what rules apply to animal handlers' hours?",
    "The canteen serves roast turkey on Fridays; can workers refuse overtime?",
    "We sell fine china and porcelain; what about home workers?",
    "Our offices in Indiana and Michigan follow the same policy.",
    "We have a plant in New Mexico and another in New Jersey.",
    "Our suppliers across Latin America and South America",
    "Trabajamos en América Latina con muchos proveedores",
    "Lors de la réunion du comité, on a parlé des heures supplémentaires.",
    "Please answer in Spanish, I speak Spanish and French.",
    "¿Pueden responder en español? Hablo inglés también.",
    "Pouvez-vous répondre en anglais ou en espagnol ?",
    "Wages are paid in US$ and some in US dollars.",
    "CONTACT US ABOUT FREEDOM OF ASSOCIATION",
    "please help us understand the rules for our team",
    "la empresa usa contratos temporales",
    "l'eau potable dans l'usine n'est pas gratuite",
    "il faut un bureau au rdc pour les réunions",
    "A woman working in the factory was dismissed for being pregnant.",
    "We will normalise the schedule and optimise shifts.",
    "The cargo ships cross the Indian Ocean.",
    "The team celebrated Chinese New Year.",
    "We use jersey fabric in our T-shirts.",
    "Atlanta, Georgia is where our headquarters are, and Georgia's rules apply.",
])
def test_false_positive_traps(directory, text):
    assert codes(text, directory) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("Our contractor in Jordan employs Syrian refugees.", ["JO", "SY"]),
    ("Workers in Chad and Niger", ["TD", "NE"]),
    ("Our plant near Tbilisi, Georgia", ["GE"]),
    ("We have a vineyard in Georgia, in the Caucasus.", ["GE"]),
    ("Mining in Guinea", ["GN"]),
    ("Oil platforms in Equatorial Guinea", ["GQ"]),
    ("Cashew processing in Guinea-Bissau", ["GW"]),
    ("Logging in Papua New Guinea", ["PG"]),
    ("pétrole en Guinée équatoriale", ["GQ"]),
    ("petróleo en Guinea Ecuatorial", ["GQ"]),
    ("Turkey: can workers strike?", ["TR"]),
    ("Factories in China and India", ["CN", "IN"]),
    ("Oil workers in Nigeria", ["NG"]),
    ("Uranium mines in Niger", ["NE"]),
    ("Pollution in the Niger Delta", ["NG"]),
    ("Sugar cane in the Dominican Republic", ["DO"]),
    ("Banana farms in Dominica", ["DM"]),
    ("Garment workers in Romania and Oman", ["RO", "OM"]),
    ("Gold mines in Mali and Somalia", ["ML", "SO"]),
])
def test_lookalike_names_resolve_to_the_right_country(directory, text, expected):
    assert codes(text, directory) == expected


def test_congo_alone_is_ambiguous_and_says_so(directory):
    m = mention("Artisanal cobalt mining in the Congo", directory, "CD")
    assert m.alternatives == ("CG",)
    m = mention("Our office in Brazzaville, Congo", directory, "CG")
    assert m.alternatives == ("CD",)
    assert codes("Timber exports from Congo-Brazzaville", directory) == ["CG"]
    assert codes("cobalt en RDC", directory) == ["CD"]


def test_us_counts_only_as_capitals_standing_alone(directory):
    assert codes("Is it legal in the US?", directory) == ["US"]
    assert codes("Can you tell us if it is legal?", directory) == []
    assert codes("Join us in Kenya", directory) == ["KE"]


def test_a_language_name_counts_only_beside_a_noun_of_law_or_business(directory):
    assert codes("Does French law allow this?", directory) == ["FR"]
    assert codes("Una empresa española con talleres en Marruecos", directory) == ["MA", "ES"]
    assert codes("Le droit espagnol s'applique-t-il ?", directory) == ["ES"]
    assert codes("Can you send the French version?", directory) == []


def test_accents_and_case_are_folded(directory):
    for text in ("Workers in PERÚ", "workers in perú", "workers in peru", "travailleurs au PÉROU"):
        assert codes(text, directory) == ["PE"], text


def test_longest_name_wins(directory):
    assert codes("Guinea-Bissau, Equatorial Guinea, Papua New Guinea and Guinea", directory) == [
        "GW", "GQ", "PG", "GN"]
    assert codes("Republic of Korea", directory) == ["KR"]
    assert codes("the Democratic Republic of the Congo", directory) == ["CD"]


def test_a_name_split_over_two_lines_of_a_wrapped_email(directory):
    assert codes("We have suppliers in Papua New\nGuinea and in the United\nStates.", directory) == ["PG", "US"]


@pytest.mark.parametrize(("text", "expected"), [
    ("factory in jordan, overtime rules?", ["JO"]),
    ("usine en chine : heures sup ?", ["CN"]),
    ("trabajadores en chile", ["CL"]),
    ("les tissus chinés de notre atelier", []),
    ("strong gales closed the port for two days", []),
    ("vamos a catar vinos en Catar", ["QA"]),
    ("nos salariés à La Réunion", ["RE"]),
    ("une usine sur l'île de la Réunion", ["RE"]),
    ("a plant on Reunion Island", ["RE"]),
    ("un chantier en Guyane", ["GF"]),
    ("a grenade attack near the mine", []),
    ("salsa de chile para la cantina", []),
])
def test_lower_case_chat_and_words_that_are_countries_only_sometimes(directory, text, expected):
    assert codes(text, directory) == expected


def test_an_address_given_in_the_message_itself_counts(directory):
    text = ("Hello,\n\nOur new plant is at:\n12 Harbour Road, Tema, Ghana\n\n"
            "Can we run night shifts there?\n\nThanks,\nAna")
    assert codes(text, directory) == ["GH"]


def test_windows_line_ends_and_tabs(directory):
    text = ("Dear team,\r\n\r\nOur supplier\tin Viet Nam asks about overtime.\r\n\r\n"
            "Best regards,\r\nJo\r\nHanoi, Vietnam\r\n")
    found = countries_concerned(text, directory)
    assert [m.code for m in found] == ["VN"] and found[0].strong


def test_a_tie_puts_the_requesters_own_country_last(directory):
    found = countries_concerned("We have offices in France and in Spain.", directory, requester_country="FR")
    assert [(m.code, m.is_requester_country) for m in found] == [("ES", False), ("FR", True)]
    assert found[0].score == found[1].score


def test_mentions_are_frozen_and_say_why(directory):
    m = countries_concerned("Our supplier in Guatemala", directory)[0]
    assert isinstance(m, CountryMention)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.rank = 2  # type: ignore[misc]
    assert m.code == "GT" and m.rank == 1 and m.evidence == ("in Guatemala",)
    assert m.reasons == ("place word 'in'", "near 'supplier'")


def test_a_long_mixed_email_is_handled(directory):
    paragraph = ("We source garments from several suppliers and would like guidance on overtime, wages and "
                 "freedom of association. The national law seems to allow long hours. ")
    text = ("Dear team,\n\n" + "\n\n".join(paragraph * 3 for _ in range(40))
            + "\n\nOur factory in Bangladesh and our supplier au Maroc.\n\nBest regards,\nAna\nLima, Perú\n")
    assert len(text.split()) > 3000
    assert codes(text, directory) == ["BD", "MA"]


def test_nothing_is_built_at_import_time():
    code = ("import kb.places as p, kb.organisations as o, kb.letter_frame as f, kb.country_names as n\n"
            "assert not n._INDEXES and not f._FRAME_LINE and not n._FOLD_CHARS and not p._WORD_BREAKS\n"
            "assert o._kinds.cache_info().currsize == 0\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# =========================================================================== letter frame


def test_letter_frame_finds_the_salutation_body_and_signature():
    frame = letter_frame("Dear Ms Doe,\nWe have a question.\nAnother line.\n\nBest regards,\nJane\nAcme Ltd")
    assert frame.salutation_line == 0
    assert sorted(frame.body) == [1, 2]
    assert frame.lines[frame.signature] == "Best regards," and frame.closing


def test_a_one_line_message_is_all_body():
    frame = letter_frame("Thanks in advance: can we employ 16-year-olds in Ghana?")
    assert sorted(frame.body) == [0] and frame.signature == 1


# =========================================================================== organisations: signatures


@pytest.mark.parametrize(("text", "email", "name", "kind"), [
    ("Hello,\nA question on overtime.\n\nBest regards,\nJane Doe\nHead of Compliance, Acme Textiles Ltd\n"
     "Tel: +44 20 7946 0018", "jane@acme-textiles.com", "Acme Textiles Ltd", RequesterType.MANAGEMENT),
    ("Hello,\nA question.\n\nBest regards, Jane Doe\nAcme Textiles Ltd\n", None, "Acme Textiles Ltd",
     RequesterType.MANAGEMENT),
    ("Bonjour,\nUne question sur le travail de nuit.\n\nCordialement,\nMarie Dupont\n"
     "Directrice RSE | Groupe Lumière SA\n3 rue de la Paix, 75002 Paris", "marie.dupont@gmail.com",
     "Groupe Lumière SA", RequesterType.MANAGEMENT),
    ("Hola:\nUna consulta.\n\nSaludos,\nCarlos Pérez\nGerente de Sostenibilidad – Textiles Andinos S.A.C.\n"
     "Lima, Perú", None, "Textiles Andinos S.A.C.", RequesterType.MANAGEMENT),
    ("Hola:\nUna consulta.\n\nSaludos,\nCarlos Pérez\nTextiles Andinos, S.A.C.\n", None,
     "Textiles Andinos, S.A.C.", RequesterType.MANAGEMENT),
    ("Dear team,\nq?\n\nKind regards,\nLi Wei\nProcurement Manager\nShenzhen Bright Garments Co., Ltd.\n"
     "Shenzhen, China", None, "Shenzhen Bright Garments Co., Ltd.", RequesterType.MANAGEMENT),
    ("Hi,\nq?\n\nThanks,\nPriya\nHR Manager | Sunrise Apparel Pvt Ltd | Bangalore", "priya@gmail.com",
     "Sunrise Apparel Pvt Ltd", RequesterType.MANAGEMENT),
    ("Hallo,\nq?\n\nBest regards,\nKlaus Weber\nNordtex GmbH\nHamburg", None, "Nordtex GmbH",
     RequesterType.MANAGEMENT),
    ("Dear helpdesk,\nq?\n\nRegards,\nYuki\nSourcing Lead, Sakura Trading KK", None, "Sakura Trading KK",
     RequesterType.MANAGEMENT),
    ("Dear helpdesk,\nq?\n\nRegards,\nBudi\nPT Sinar Jaya Tbk\nJakarta", None, "PT Sinar Jaya Tbk",
     RequesterType.MANAGEMENT),
    ("Estimados:\nConsulta.\n\nAtentamente,\nAna Gómez\nSecretaria General del Sindicato de Trabajadores Textiles",
     "ana@hotmail.com", "Sindicato de Trabajadores Textiles", RequesterType.WORKERS),
    ("Bonjour,\nQuestion.\n\nSalutations syndicales,\nPaul Martin\nSecrétaire fédéral, Fédération des travailleurs "
     "du textile CGT\n", None, "Fédération des travailleurs du textile CGT", RequesterType.WORKERS),
    ("Dear all,\nq?\n\nIn solidarity,\n\nKind regards,\nGrace Achieng\nGeneral Secretary\n"
     "Kenya Plantation and Agricultural Workers Union", None,
     "Kenya Plantation and Agricultural Workers Union", RequesterType.WORKERS),
    ("Dear team,\nq?\n\nRegards,\nPeter Mwangi\nFederation of Kenya Employers\nNairobi", None,
     "Federation of Kenya Employers", RequesterType.EMPLOYERS_ORGANISATION),
    ("Estimados:\nConsulta.\n\nSaludos cordiales,\nLuis Rojas\nAsesor Legal, Cámara de Comercio de Lima", None,
     "Cámara de Comercio de Lima", RequesterType.EMPLOYERS_ORGANISATION),
    ("Dear team,\nq?\n\nRegards,\nJohn Banda\nMinistry of Labour and Social Security\nLusaka", None,
     "Ministry of Labour and Social Security", RequesterType.GOVERNMENT),
    ("Madame, Monsieur,\nQuestion.\n\nCordialement,\nSophie Leroy\nInspectrice du travail\n"
     "Ministère du Travail, du Plein emploi et de l'Insertion", None,
     "Ministère du Travail, du Plein emploi et de l'Insertion", RequesterType.GOVERNMENT),
    ("Estimados:\nConsulta.\n\nAtentamente,\nRosa Quispe\nMinisterio de Trabajo y Promoción del Empleo", None,
     "Ministerio de Trabajo y Promoción del Empleo", RequesterType.GOVERNMENT),
    ("Bonjour,\nQuestion.\n\nCordialement,\nAwa Diallo\nCoopérative agricole des Vergers de Thiès", None,
     "Coopérative agricole des Vergers de Thiès", None),
    ("Hola,\nconsulta\n\nSaludos,\nJuan\nCooperativa Cafetalera Norandino", None, "Cooperativa Cafetalera Norandino",
     None),
    ("Dear team,\nq?\n\nBest wishes,\nDr Sarah Lee\nResearch Fellow, University of Cape Town", None,
     "University of Cape Town", RequesterType.OTHER),
])
def test_the_organisation_is_read_from_the_signature(text, email, name, kind):
    found = suggest_organisation(text, email)
    assert found is not None
    assert (found.name, found.source, found.requester_type) == (name, "signature", kind)
    assert name.split(",")[0] in found.evidence


def test_the_evidence_is_the_signature_line_and_the_type_evidence_the_word(directory):
    found = suggest_organisation("Hi,\nq\n\nRegards,\nAna\nGerente – Textiles Andinos S.A.C.", None)
    assert found == OrganisationSuggestion("Textiles Andinos S.A.C.", "signature", "Gerente – Textiles Andinos S.A.C.",
                                           RequesterType.MANAGEMENT, "S.A.C.")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.name = "x"  # type: ignore[misc]


def test_a_job_title_alone_is_no_organisation():
    text = "Dear team,\nq?\n\nBest regards,\nJohn Smith\nSenior Compliance Manager\nTel: +1 555 0100 200"
    assert suggest_organisation(text, "john.smith@gmail.com") is None


def test_a_plain_signature_line_counts_when_it_matches_the_domain():
    text = "Hi,\nq?\n\nBest,\nTom\nTextiles Andinos\nLima"
    found = suggest_organisation(text, "tom@textilesandinos.pe")
    assert (found.name, found.source, found.evidence) == ("Textiles Andinos", "signature", "Textiles Andinos")


def test_a_quoted_signature_is_not_the_requesters():
    text = ("Thanks, that helps!\n\nOn Mon, 3 Mar 2025, Bob wrote:\n> Best regards\n> Bob\n> Other Corp Ltd\n")
    assert suggest_organisation(text, None) is None
    text = "Thanks!\n> Regards,\n> Bob\n> Other Corp Ltd"
    assert suggest_organisation(text, None) is None


def test_a_signature_after_a_delimiter():
    text = "Can we employ 16-year-olds?\n\n-- \nAmina Yusuf\nPurchasing, Lagos Foods Plc\n+234 1 234 5678"
    found = suggest_organisation(text, None)
    assert (found.name, found.requester_type) == ("Lagos Foods Plc", RequesterType.MANAGEMENT)


def test_the_european_union_is_no_trade_union():
    text = "Dear team,\nq?\n\nRegards,\nMarc\nPolicy Officer, Delegation of the European Union to Ghana"
    found = suggest_organisation(text, None)
    assert found is None or found.requester_type is not RequesterType.WORKERS


# =========================================================================== organisations: domains


@pytest.mark.parametrize(("email", "name", "kind", "why"), [
    ("jane@acme-textiles.com", "Acme Textiles", None, None),
    ("jane@mail.acme-textiles.co.uk", "Acme Textiles", None, None),
    ("compras@textiles_andinos.com.pe", "Textiles Andinos", None, None),
    ("press@orange.com", "Orange", None, None),
    ("info@ilo.org", "ILO", None, None),
    ("a.b@dol.gov", "DOL", RequesterType.GOVERNMENT, "gov"),
    ("x@mintra.gob.pe", "Mintra", RequesterType.GOVERNMENT, "gob.pe"),
    ("x@travail-emploi.gouv.fr", "Travail Emploi", RequesterType.GOVERNMENT, "gouv.fr"),
    ("x@labour.gov.za", "Labour", RequesterType.GOVERNMENT, "gov.za"),
    ("x@mom.gov.sg", "MOM", RequesterType.GOVERNMENT, "gov.sg"),
    ("x@seco.admin.ch", "Seco", RequesterType.GOVERNMENT, "admin.ch"),
    ("x@sindicato-textil.org", "Sindicato Textil", RequesterType.WORKERS, "Sindicato"),
    ("x@kenya-employers.org", "Kenya Employers", RequesterType.EMPLOYERS_ORGANISATION, "employers"),
    ("x@textile-workers-union.org", "Textile Workers Union", RequesterType.WORKERS, "workers"),
    ("Jane Doe <jane@acme-textiles.com>", "Acme Textiles", None, None),
    ("x@labour-travail.gc.ca", "Labour Travail", RequesterType.GOVERNMENT, "gc.ca"),
    ("x@labour.go.ke", "Labour", RequesterType.GOVERNMENT, "go.ke"),
    ("x@letsgo.com", "Letsgo", None, None),
    ("x@students.uonbi.ac.ke", "Uonbi", RequesterType.OTHER, "ac.ke"),
    ("x@who.int", "WHO", RequesterType.OTHER, "int"),
    ("X@ACME-TEXTILES.COM", "Acme Textiles", None, None),
])
def test_the_organisation_falls_back_on_the_domain(email, name, kind, why):
    found = suggest_organisation("Hello, can we employ 16-year-olds in Ghana?", email)
    assert found is not None
    assert (found.name, found.source, found.requester_type) == (name, "domain", kind)
    assert found.evidence == email.split("@")[1].rstrip(">").lower()
    if why:
        assert found.type_evidence.lower() == why.lower()


@pytest.mark.parametrize("email", [
    "someone@gmail.com", "someone@googlemail.com", "someone@yahoo.com", "someone@yahoo.fr", "someone@yahoo.co.uk",
    "someone@hotmail.com", "someone@hotmail.es", "someone@outlook.com", "someone@outlook.fr", "someone@live.fr",
    "someone@msn.com", "someone@icloud.com", "someone@me.com", "someone@proton.me", "someone@protonmail.com",
    "someone@gmx.de", "someone@gmx.net", "someone@aol.com", "someone@yandex.ru", "someone@mail.ru",
    "someone@qq.com", "someone@163.com", "someone@orange.fr", "someone@wanadoo.fr", "someone@free.fr",
    "someone@laposte.net", "someone@web.de", "someone@libero.it", "someone@terra.com.br", "someone@uol.com.br",
    "someone@rediffmail.com", "someone@example.com", "someone@example.org", "someone@helpdesk.test",
    "not-an-address", "", None,
])
def test_no_organisation_from_free_mail_or_reserved_domains(email):
    assert suggest_organisation("Hello, can we employ 16-year-olds in Ghana?", email) is None


def test_free_mail_is_told_from_a_company_of_the_same_name():
    assert is_free_mail("orange.fr") and not is_free_mail("orange.com")
    assert is_free_mail("yahoo.com.mx") and is_free_mail("hotmail.co.uk")
    assert not is_free_mail("acme-textiles.com")


def test_the_signature_wins_over_the_domain_and_borrows_its_type():
    text = "Hi,\nq?\n\nRegards,\nJohn\nLabour Inspection Unit, Acme Services Ltd"
    found = suggest_organisation(text, "john@acme.com")
    assert (found.name, found.source) == ("Acme Services Ltd", "signature")
    text = "Hi,\nq?\n\nRegards,\nJohn\nInternational Affairs Unit, National Labour Council"
    found = suggest_organisation(text, "john@labour.gov.gh")
    assert (found.source, found.requester_type) == ("signature", RequesterType.GOVERNMENT)


@pytest.mark.parametrize("line", [
    "Head of Workers' Welfare", "Employer Branding Manager", "Government Relations Manager", "Union Representative",
    "Chargée de mission", "Responsable des relations sociales", "Jefa de Recursos Humanos",
    "Cut costs, not corners!",
])
def test_a_job_title_naming_workers_or_government_is_no_organisation(line):
    text = f"Dear team,\nq?\n\nBest regards,\nAlex Martin\n{line}\n"
    assert suggest_organisation(text, "alex@gmail.com") is None


def test_a_sentence_in_a_last_short_paragraph_is_no_organisation():
    text = "Hello\n\nWe have a question on overtime\nWe buy from Acme Ltd"
    assert suggest_organisation(text, None) is None
    text = "Bonjour\n\nUne question sur les heures\nNotre fournisseur Lumière SA"
    assert suggest_organisation(text, None) is None


def test_a_telegram_message_gives_no_organisation():
    assert suggest_organisation("can we pay overtime in cash?", None) is None


# ---------------------------------------------------------------- the query as stored and shown
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_query_about_a_supplier_abroad_is_counted_under_that_country_and_the_specialist_confirms(helpdesk):
    from kb.intake import QuerySubmission
    from kb.models import Channel

    service = helpdesk.service
    report = service.submit_query(QuerySubmission(
        text="Dear Helpdesk,\n\nOur supplier in Guatemala keeps the passports of its migrant workers. What should "
             "we ask them to do?\n\nBest regards,\nAnna Weber\nHead of Sustainability\nWeber Textil GmbH\n"
             "Hauptstrasse 5, Berlin, Germany",
        channel=Channel.EMAIL, email="anna@weber-textil.de", country="DE"))
    page = service.console_query(report.reference)
    assert page.place["code"] == "GT" and page.place["source"] == "text"
    assert page.place["region"] == "Americas" and page.requester["country"] == "DE"
    assert page.suggested_organisation == "Weber Textil GmbH"
    history = {e["kind"]: e["detail"] for e in service.show_query(report.reference).history}
    assert "Guatemala" in history["country concerned"] and "in Guatemala" in history["country concerned"]

    assert service.confirm_organisation(report.reference, actor="maria") == "Weber Textil GmbH"
    assert service.console_query(report.reference).requester["organisation"] == "Weber Textil GmbH"
    assert service.set_country_concerned(report.reference, "Honduras", actor="maria") == "Honduras"
    assert service.console_query(report.reference).place == {"code": "HN", "region": "Americas",
                                                              "source": "specialist", "name": "Honduras"}
    with pytest.raises(ValueError):
        service.set_country_concerned(report.reference, "Atlantis", actor="maria")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_viewer_reads_a_confidential_query_without_its_suggested_organisation_or_its_country(helpdesk):
    """Regression: the history said "organisation suggested: Weber Textil GmbH" and "in Guatemala" to viewers of a
    confidential query, whose page hides both."""
    from kb.accounts import AccountView
    from kb.intake import QuerySubmission
    from kb.models import Channel

    service = helpdesk.service
    report = service.submit_query(QuerySubmission(
        text="Our supplier in Guatemala keeps the passports of its migrant workers. What should we do?\n\n"
             "Best regards,\nAnna Weber\nWeber Textil GmbH", channel=Channel.EMAIL, email="anna@weber-textil.de",
        confidential=True))
    viewer = service.console_query(report.reference, account=AccountView("victor", "viewer"))
    seen = repr(viewer.history) + repr(viewer.place) + repr(viewer.suggested_organisation)
    assert "Weber Textil" not in seen and "Guatemala" not in seen and "GT" not in seen
    assert viewer.place["region"] == "Americas"
    specialist = service.console_query(report.reference, account=AccountView("maria", "specialist"))
    assert "Weber Textil GmbH" in repr(specialist.history) and specialist.place["code"] == "GT"
