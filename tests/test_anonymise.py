"""The specialist promotes an answered query: the draft for the public Q&A bank must not
carry the requester's name, company, contact details, the helpdesk reference or the
letter's frame, and must keep every word of substance."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources

import pytest

from kb.anonymise import Anonymised, anonymise
from kb.drafting import TEMPLATES, compose_draft
from kb.matching import QAEntry, QAMatch

QUESTION = "What is the minimum age under Convention No. 138?"


def test_a_requesters_english_email_comes_out_as_the_question_alone():
    email = """Dear Sir or Madam,

I hope this email finds you well. My name is Jürgen Weber and I am the HR manager at Weber Textil GmbH.
We employ 1,500 workers in Ghana and since 2026 some of our suppliers hire 15-year-olds for packing.

Is this allowed under Convention No. 138? Mr Weber, our CEO, would also like to know whether 15 years
is the general minimum age. You can call me on +233 20 123 4567 or write to j.weber@weber-textil.example.

Kind regards,
Jürgen Weber
HR Manager | Weber Textil GmbH
12 Harbour Road, Tema, Ghana
Tel: +233 20 123 4567 | www.weber-textil.example"""
    result = anonymise(email, names=["Jürgen Weber"], organisations=["Weber Textil GmbH"])
    assert result.text == (
        "My name is [name] and I am the HR manager at [organisation].\n"
        "We employ 1,500 workers in Ghana and since 2026 some of our suppliers hire 15-year-olds for packing.\n\n"
        "Is this allowed under Convention No. 138? [name], our CEO, would also like to know whether 15 years\n"
        "is the general minimum age. You can call me on [phone] or write to [email]."
    )
    assert isinstance(result, Anonymised)
    assert {"salutation", "pleasantry", "closing and signature", "phone number", "email address",
            "name 'Jürgen Weber'", "organisation 'Weber Textil GmbH'"} == set(result.removed)


def test_the_helpdesks_own_reply_comes_out_as_just_the_substance():
    reply = (
        "Dear Jürgen,\n\n"
        "Thank you for contacting the ILO Helpdesk for Business (reference HD-2026-0007).\n\n"
        "On your question about child labour: Convention No. 138 sets the general minimum age at 15 years, "
        "and 18 years for hazardous work.\n\n"
        "Kind regards,\nILO Helpdesk for Business"
    )
    result = anonymise(reply, names=["Jürgen Weber"])
    assert result.text == (
        "On your question about child labour: Convention No. 138 sets the general minimum age at 15 years, "
        "and 18 years for hazardous work."
    )
    assert {"salutation", "reference", "closing and signature"} <= set(result.removed)
    assert "HD-2026" not in result.text and "(reference" not in result.text and "()" not in result.text


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_a_reviewed_draft_in_any_language_keeps_only_the_answer(language):
    answer = {
        "en": "Children under 15 should not work; light work is possible from 13 (Convention No. 138, Article 7).",
        "fr": "Les enfants de moins de 15 ans ne devraient pas travailler (Convention n° 138, article 7).",
        "es": "Los menores de 15 años no deberían trabajar (Convenio núm. 138, artículo 7).",
    }[language]
    entry = QAEntry(1, "child-labour-age", "Minimum age?", answer, ("child_labour",), language)
    draft = compose_draft(language=language, helpdesk="ILO Helpdesk for Business", reference="HD-2026-0007",
                          target_reply_date=date(2026, 3, 16), topic_names=["child labour"],
                          matches=[QAMatch(entry, 90.0, 0.8, 90.0, ("child",), True)], requester_name="Ana López")
    result = anonymise(draft.text, names=["Ana López"])
    t = TEMPLATES[language]
    assert result.text == "\n\n".join([t["answer_intro"].format(topics="child labour"), answer, t["disclaimer"]])
    assert {"salutation", "reference", "pleasantry", "closing and signature"} <= set(result.removed)


def test_a_french_query_loses_its_letter_frame_and_contact_details():
    query = """Madame, Monsieur,

Je suis responsable RH chez Dupont et Fils SARL, 45 rue de la Paix, 75002 Paris. M. Martin, notre directeur,
souhaite savoir si nous pouvons employer des jeunes de 16 ans la nuit (Convention n° 90).
Vous pouvez me joindre au 01 23 45 67 89 ou à marie.dupont@dupont-fils.example.

Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.
Marie Dupont
Dupont et Fils SARL
Tél. : +33 1 23 45 67 89"""
    result = anonymise(query, names=["Marie Dupont"], organisations=["Dupont et Fils"])
    assert result.text == (
        "Je suis responsable RH chez [organisation], [address]. [name], notre directeur,\n"
        "souhaite savoir si nous pouvons employer des jeunes de 16 ans la nuit (Convention n° 90).\n"
        "Vous pouvez me joindre au [phone] ou à [email]."
    )
    assert {"salutation", "closing and signature", "postal address", "phone number", "email address",
            "name 'M. Martin'", "organisation 'Dupont et Fils'"} == set(result.removed)


def test_a_spanish_query_loses_its_letter_frame_and_contact_details():
    query = """Estimado/a Sr. García:

Le escribo desde Textiles Andinos S.A. (Calle Mayor 3, 28013 Madrid). Tenemos 250 trabajadores y el 10 % son
menores de 18 años. ¿Pueden trabajar de noche según el Convenio núm. 182? Mi móvil es +34 612 345 678.
Según el apartado 3 del artículo 2, ¿qué se considera trabajo peligroso?

Quedo a la espera de su respuesta.
Saludos cordiales,
Ana López
Textiles Andinos S.A.
Tel. 912 345 678"""
    result = anonymise(query, names=["Ana López"], organisations=["Textiles Andinos"])
    assert result.text == (
        "Le escribo desde [organisation] ([address]). Tenemos 250 trabajadores y el 10 % son\n"
        "menores de 18 años. ¿Pueden trabajar de noche según el Convenio núm. 182? Mi móvil es [phone].\n"
        "Según el apartado 3 del artículo 2, ¿qué se considera trabajo peligroso?"
    )
    assert "salutation" in result.removed and "closing and signature" in result.removed
    assert "name 'Ana López'" not in result.removed  # she only appears in the signature, which went whole


@pytest.mark.parametrize("salutation", [
    "Dear Jürgen,", "Dear Mr Weber,", "Dear Mr. Weber,", "Dear Sir or Madam,", "Dear Sir/Madam,", "Dear colleagues,",
    "Dear ILO Helpdesk team,", "Hello Ana,", "Hello!", "Hi team,", "Hi,", "Good morning,", "To whom it may concern,",
    "Bonjour Marie,", "Bonjour,", "Madame, Monsieur,", "Mesdames, Messieurs,", "Cher Monsieur Dupont,", "Chère Madame,",
    "Bonjour à tous,", "Estimado/a Sr. García:", "Estimada Ana:", "Estimados señores:", "Estimado/a señor/a:",
    "Hola Juan,", "Hola a todos,", "Buenos días,", "A quien corresponda:",
])
def test_the_salutation_line_is_removed_whatever_the_language(salutation):
    result = anonymise(f"{salutation}\n\n{QUESTION}")
    assert result.text == QUESTION
    assert result.removed == ("salutation",)


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi Ana, we run a garment factory in Peru.", "We run a garment factory in Peru."),
    ("Hello, we employ 40 workers.", "We employ 40 workers."),
    ("Bonjour, nous avons une usine au Maroc.", "Nous avons une usine au Maroc."),
    ("Hola Juan, tenemos una fábrica en Chile.", "Tenemos una fábrica en Chile."),
])
def test_a_greeting_on_the_same_line_as_the_question_is_cut_and_the_sentence_kept(text, expected):
    assert anonymise(text).text == expected


@pytest.mark.parametrize("closing", [
    "Kind regards,", "Best regards,", "Regards,", "Best,", "Sincerely,", "Yours sincerely,", "Many thanks,",
    "Thanks in advance,", "Thank you in advance for your help.", "Best regards, Jürgen",
    "Looking forward to your reply.",
    "Cordialement,", "Bien cordialement,", "Bien à vous,", "Merci d'avance,",
    "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
    "Je vous prie d'agréer mes sincères salutations.", "Atentamente,", "Saludos cordiales,", "Un saludo,",
    "Un cordial saludo,", "Reciba un cordial saludo.", "Quedo a la espera de su respuesta.",
    "--", "Sent from my iPhone",
])
def test_the_closing_takes_the_whole_signature_with_it(closing):
    text = f"{QUESTION}\n\n{closing}\nJohn Smith\nCompliance Officer, Acme Ltd\nPhone: 020 7946 0958\nLondon"
    result = anonymise(text)
    assert result.text == QUESTION
    assert len(result.removed) == 1 and "signature" in result.removed[0]


def test_a_signature_without_a_closing_phrase_goes_when_it_carries_contact_details():
    text = f"{QUESTION}\n\nJohn Smith\nHR Manager, Acme Foods Ltd\n+233 20 123 4567\njohn@acmefoods.example"
    result = anonymise(text, names=["John Smith"], organisations=["Acme Foods"])
    assert result.text == QUESTION and "signature" in result.removed


def test_a_quoted_earlier_message_is_dropped():
    text = f"{QUESTION}\n\nOn Mon, 2 Mar 2026 at 09:00, Ana López <ana@coop.example> wrote:\n> Dear Ana,\n> old text"
    assert anonymise(text).text == QUESTION


@pytest.mark.parametrize("phone", [
    "+233 20 123 4567", "(020) 7946 0958", "020 7946 0958", "+44 (0)20 7946 0958", "01 23 45 67 89",
    "06.12.34.56.78", "0612345678", "+33 (0)1 23 45 67 89", "+34 612 345 678", "+1-202-555-0143", "555-123-4567",
    "0044 20 7946 0958", "+41 22 799 61 11",
])
def test_phone_numbers_in_international_and_local_forms_become_a_placeholder(phone):
    result = anonymise(f"Please call me on {phone} before Friday.")
    assert result.text == "Please call me on [phone] before Friday."
    assert result.removed == ("phone number",)


@pytest.mark.parametrize("text", ["Tel: 912 345 678", "Tél. : 123 4567", "Teléfono: 612 345 678", "Mobile 612 345 678"])
def test_a_labelled_local_number_is_a_phone_even_when_it_looks_like_an_amount(text):
    assert anonymise(text).text.endswith("[phone]")


@pytest.mark.parametrize("text", [
    "Convention No. 138 (1973) and Convention No. 182 (1999) apply to our sites since 2026.",
    "We employ 1,500 workers, paid 1 500 000 euros, 1.500.000 pesos and 150 000 rupees in total.",
    "From 01/03/2026 to 15.03.2026, then 2026-03-02, over 2020-2026 and 2019 - 2026.",
    "Between 01.03.2026-15.03.2026 the rate was 3.5 per cent for ages 13-15.",
    "Young workers aged 15 to 18 years work 40 hours; 12.5% overtime; Article 3 (d); C138, C182, P029.",
    "The ILO has 187 member States since 1919; Recommendation No. 146, paragraph 13(1)(a).",
    "El apartado 3 del artículo 2 del Convenio núm. 138 (1973); 14 años; 25 %.",
    "Le paragraphe 2 de l'article 7 ; 18 ans ; 48 heures par semaine ; 1er janvier 2026.",
])
def test_years_convention_numbers_dates_and_amounts_are_not_phone_numbers(text):
    assert anonymise(text) == Anonymised(text, ())


@pytest.mark.parametrize(("text", "expected"), [
    ("Thank you for the details (reference HD-2026-0007). The answer is yes.",
     "Thank you for the details. The answer is yes."),
    ("We discussed it [HD-2026-0007] with ACTRAV.", "We discussed it with ACTRAV."),
    ("Your reference: HD-2026-0007\nThe answer is yes.", "The answer is yes."),
    ("Ref. HD-2026-0123: the answer is yes.", "The answer is yes."),
    ("Nous avons reçu votre demande (réf. HD-2026-0012) sur le travail des enfants.",
     "Nous avons reçu votre demande sur le travail des enfants."),
    ("Su consulta (referencia HD-2026-0031) trata del trabajo infantil.", "Su consulta trata del trabajo infantil."),
    ("Ticket no. 48213: the answer is yes.", "The answer is yes."),
    ("Case CRM/77 concerns overtime (ref CRM/77).", "Case concerns overtime."),
])
def test_references_disappear_with_the_words_around_them_and_no_dangling_brackets(text, expected):
    result = anonymise(text, references=["48213", "CRM/77"])
    assert result.text == expected
    assert result.removed == ("reference",)


def test_a_custom_reference_pattern_is_honoured():
    result = anonymise("Query Q/2026/17 is closed (Q/2026/18).", reference_pattern=r"\bQ/\d{4}/\d+\b")
    assert result.text == "Query is closed."


def test_a_given_name_is_replaced_in_full_in_part_in_any_case_and_after_a_title():
    text = ("Jürgen WEBER asked. Mr. Weber and Dr Jurgen Weber agree; weber too. Jürgen's plant is in Ghana.\n"
            "Marie-Claire said yes; Claire agreed. Sra. de la Cruz and María too.")
    result = anonymise(text, names=["Jürgen Weber", "Marie-Claire Dupont", "María de la Cruz"])
    assert result.text == ("[name] asked. [name] and [name] agree; [name] too. [name]'s plant is in Ghana.\n"
                           "[name] said yes; [name] agreed. [name] and [name] too.")
    assert {"name 'Jürgen Weber'", "name 'Marie-Claire Dupont'", "name 'María de la Cruz'"} == set(result.removed)


@pytest.mark.parametrize(("text", "expected"), [
    ("Our manager, Ms Smith, met Mrs O'Brien.", "Our manager, [name], met [name]."),
    ("Dr. Müller and M. Dupont visited the plant.", "[name] and [name] visited the plant."),
    ("Mme Lefèvre et Mlle Durand ont signé.", "[name] et [name] ont signé."),
    ("Sr. Pérez Gómez, Sra. López y Doña Ana firmaron.", "[name], [name] y [name] firmaron."),
])
def test_a_name_after_a_title_is_replaced_even_when_nobody_gave_it(text, expected):
    result = anonymise(text)
    assert result.text == expected and all(kind.startswith("name '") for kind in result.removed)


def test_a_name_that_is_also_a_common_word_leaves_the_word_alone():
    text = "May we employ 16-year-olds? Will the rule apply? It will, and they may. Ask May Will or Ms Will."
    result = anonymise(text, names=["May Will"])
    assert result.text == ("May we employ 16-year-olds? Will the rule apply? It will, and they may. "
                           "Ask [name] or [name].")


@pytest.mark.parametrize(("text", "expected"), [
    ("We work for ACME Textiles Ltd. Our factories are in Peru.",
     "We work for [organisation]. Our factories are in Peru."),
    ("Acme Textiles, Inc. ships to acme textiles as a buyer.", "[organisation] ships to [organisation] as a buyer."),
    ("Les ateliers de Dupont & Fils S.A.R.L. emploient 40 personnes.",
     "Les ateliers de [organisation] emploient 40 personnes."),
    ("Textiles Andinos S.A. y Textiles Andinos, S.L. son filiales.", "[organisation] y [organisation] son filiales."),
    ("Weber Textil GmbH, our buyer, audits us.", "[organisation], our buyer, audits us."),
])
def test_a_given_organisation_is_replaced_with_or_without_its_legal_suffix(text, expected):
    organisations = ["Acme Textiles Ltd", "Dupont & Fils", "Textiles Andinos S.A.", "Weber Textil"]
    result = anonymise(text, organisations=organisations)
    assert result.text == expected
    assert len(result.removed) == 1 and result.removed[0].startswith("organisation '")


@pytest.mark.parametrize("address", [
    "12 Harbour Road, Tema, Ghana", "221B Baker Street", "10 Downing Street, London SW1A 2AA", "P.O. Box 123, Accra",
    "45 rue de la Paix\n75002 Paris", "12, avenue des Champs-Élysées, 75008 Paris", "B.P. 414 Dakar",
    "Calle Mayor 3\n28013 Madrid", "Avenida de la Constitución, 12", "Apartado de correos 45, Lima",
    "CH-1211 Genève 22",
])
def test_a_postal_address_line_becomes_a_placeholder(address):
    result = anonymise(f"{QUESTION}\n{address}")
    assert result.text == f"{QUESTION}\n[address]"
    assert result.removed == ("postal address",)


def test_an_address_inside_a_sentence_is_replaced_and_the_sentence_kept():
    result = anonymise("Our factory at 12 Harbour Road, Tema, employs 300 people.")
    assert result.text == "Our factory at [address], Tema, employs 300 people."


def test_email_addresses_and_links_become_placeholders():
    text = ("Write to j.weber@weber-textil.example or see https://www.ilo.org/helpdesk?lang=en, "
            "www.example.org and ilo.org/childlabour.")
    result = anonymise(text)
    assert result.text == "Write to [email] or see [link], [link] and [link]."
    assert result.removed == ("email address", "link")


def test_the_substance_survives_anonymisation():
    text = ("Dear Ms Smith,\n\nUnder Convention No. 138 the minimum age is 15 years (14 in some developing countries). "
            "Since 2026 your 1,500 workers in Bangladesh and Viet Nam are covered; 30% are women. "
            "Call +880 2 123 4567.\n\nBest regards,\nAna")
    result = anonymise(text)
    for kept in ("Convention No. 138", "15 years", "14 in some", "2026", "1,500 workers", "Bangladesh",
                 "Viet Nam", "30% are women"):
        assert kept in result.text
    assert "Smith" not in result.text and "4567" not in result.text and "Ana" not in result.text


def test_an_already_clean_text_passes_unchanged():
    clean = ("Can a 16-year-old work night shifts in a bakery?\n\n"
             "Convention No. 138 sets 18 years for hazardous work; night work is covered by Convention No. 90.\n"
             "- Light work: from 13 years.\n- General minimum age: 15 years.\n\n"
             "See the ILO Declaration of 1998, as amended in 2022.")
    assert anonymise(clean) == Anonymised(clean, ())


def test_every_shipped_qa_passes_unchanged():
    bank = tomllib.loads(resources.files("kb").joinpath("data/qa_bank.toml").read_text(encoding="utf-8"))
    for qa in bank["qa"]:
        for field in ("question", "answer"):
            text = qa[field].strip()
            assert anonymise(text) == Anonymised(text, ()), (qa["key"], field)


def test_leftover_blank_lines_collapse_and_the_result_is_stripped():
    text = "\n\nHello Ana,\n\n\n\nFirst point.\n\nTel: +233 20 123 4567\n\n\n\nSecond point.\n\n\nRegards,\nAna\n\n"
    assert anonymise(text).text == "First point.\n\nTel: [phone]\n\nSecond point."


def test_empty_text_gives_an_empty_draft():
    assert anonymise("") == Anonymised("", ())
    assert anonymise("   \n\n ") == Anonymised("", ())
