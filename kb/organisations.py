"""The requester's organisation, suggested from the signature or the sender's e-mail domain.

A signature names the organisation on a line after the name: "Acme Textiles Ltd", "Head of
Compliance, Acme Textiles Ltd", "Directrice RSE | Groupe Lumière SA", "Gerente de
Sostenibilidad – Textiles Andinos S.A.C.", "Secretario General del Sindicato de Trabajadores
Textiles". :func:`suggest_organisation` looks there first for a legal form (Ltd, GmbH, S.A.C.,
SARL, Pvt Ltd, KK...) or a word naming a kind of organisation (Union, Syndicat, Sindicato,
Federation, Ministry, Ministère, Ministerio, Cooperative, Chamber of Commerce...), leaving out
job titles, names, addresses and phone lines; else it makes a name of the sender's domain
(``acme-textiles.com`` -> "Acme Textiles"), never of a free-mail provider's (gmail.com,
orange.fr, yahoo.es...). It says where the suggestion came from and on which line or domain, and
hints at the requester's type when the organisation makes it plain: a union is "workers", a
ministry or a government domain (.gov, .gob, .gouv, .go.ke...) "government", an employers'
federation or a chamber of commerce "employers_organisation", a company with a legal form
"management", a university, a foundation or an NGO (or an .edu, .ac.xx or .int domain) "other".

A suggestion, for the requester or the specialist to confirm; None when nothing is reliable.
Pure function: regular expressions and sets; the largest regexes are compiled on first use.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from classifier.stopwords import ALL as FUNCTION_WORDS
from kb.letter_frame import is_contact_line, letter_frame
from kb.letter_patterns import EMAIL, URL
from kb.models import RequesterType

__all__ = ["FREE_MAIL_DOMAINS", "OrganisationSuggestion", "is_free_mail", "suggest_organisation"]


@dataclass(frozen=True)
class OrganisationSuggestion:
    """An organisation's name, where it was found (``source``: "signature" or "domain"), the
    signature line or the domain it was read from (``evidence``), and the requester type it
    suggests, if any, with the word behind that hint (``type_evidence``: "Sindicato", "gob.pe")."""

    name: str
    source: str
    evidence: str
    requester_type: RequesterType | None = None
    type_evidence: str | None = None


# --------------------------------------------------------------------------- free-mail providers

#: Providers whose name is the same under many country domains: "yahoo.fr", "hotmail.es", "gmx.net".
_FREE_MAIL_NAMES = frozenset("""
gmail googlemail yahoo ymail rocketmail hotmail outlook live msn windowslive icloud proton protonmail
gmx aol aim yandex qq 163 126 yeah sina sohu foxmail 139 aliyun rediffmail zohomail tutanota tutamail
naver daum hanmail rambler lycos mailinator hushmail
""".split())
#: Providers known by one domain only ("orange.fr" is free mail, "orange.com" is a company).
FREE_MAIL_DOMAINS = frozenset("""
mail.com email.com usa.com myself.com post.com me.com mac.com pm.me proton.me tuta.io hey.com zoho.com
orange.fr wanadoo.fr free.fr sfr.fr neuf.fr laposte.net bbox.fr numericable.fr club-internet.fr aliceadsl.fr
web.de t-online.de freenet.de arcor.de libero.it virgilio.it alice.it tiscali.it tin.it email.it
terra.com.br terra.es terra.com.mx terra.com.pe terra.cl terra.com.ar uol.com.br bol.com.br ig.com.br
btinternet.com sky.com ntlworld.com virginmedia.com blueyonder.co.uk talktalk.net
comcast.net verizon.net att.net sbcglobal.net cox.net earthlink.net juno.com charter.net bellsouth.net
shaw.ca rogers.com sympatico.ca videotron.ca telus.net bigpond.com optusnet.com.au xtra.co.nz
skynet.be telenet.be bluewin.ch seznam.cz wp.pl o2.pl onet.pl interia.pl abv.bg ukr.net i.ua
bk.ru list.ru inbox.ru mail.ru mail.ua ya.ru
mweb.co.za telkomsa.net vodamail.co.za webmail.co.za prodigy.net.mx telefonica.net movistar.es
arnet.com.ar fibertel.com.ar speedy.com.ar cantv.net netzero.net
""".split())
#: Domains reserved for examples and tests (RFC 2606), which name nobody.
_RESERVED = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|[^.]+\.(?:example|test|invalid|localhost)|localhost)$")

#: Second-level labels under a country code that are no organisation's name: "acme.co.uk", "mintra.gob.pe".
_SECOND_LEVEL = frozenset("co com org net ac edu gov gob gouv go gv govt or ne nic mil ltd plc sch int biz "
                          "info nom gen firm web ind res".split())
_GOVERNMENT_LABELS = frozenset({"gov", "gob", "gouv", "go", "gv", "govt", "gc", "mil", "bund"})
_SWISS_FEDERAL = "admin.ch"


def _domain_parts(domain: str) -> tuple[str, str] | None:
    """(the organisation's label, the rest): "mail.acme-textiles.co.uk" -> ("acme-textiles", "co.uk")."""
    labels = [label for label in domain.lower().strip(".").split(".") if label]
    if len(labels) < 2:
        return None
    tail = [labels.pop()]
    if len(labels) >= 2 and f"{labels[-1]}.{tail[0]}" == _SWISS_FEDERAL:
        tail.insert(0, labels.pop())
    elif len(labels) >= 2 and labels[-1] in _SECOND_LEVEL and len(tail[0]) == 2:
        tail.insert(0, labels.pop())
    elif len(labels) >= 2 and labels[-1] in _GOVERNMENT_LABELS:
        tail.insert(0, labels.pop())
    return labels[-1], ".".join(tail)


def is_free_mail(domain: str) -> bool:
    """True for a free-mail provider's domain (gmail.com, yahoo.co.uk, orange.fr, mail.ru...)."""
    domain = domain.lower().strip(".")
    if domain in FREE_MAIL_DOMAINS:
        return True
    parts = _domain_parts(domain)
    return parts is not None and parts[0] in _FREE_MAIL_NAMES


# --------------------------------------------------------------------------- what a line says

#: Legal forms that end a company's name (case as written): "Acme Textiles Ltd", "Lumière SA", "Andinos S.A.C.".
_LEGAL_FORM = (
    r"(?:Pvt\.?[ \t]+Ltd\.?|Private[ \t]+Limited|Pty\.?[ \t]+Ltd\.?|Sdn\.?[ \t]+Bhd\.?|Co\.,?[ \t]+Ltd\.?|"
    r"S\.A\.[ \t]+de[ \t]+C\.V\.|S\.[ \t]?de[ \t]+R\.L\.(?:[ \t]+de[ \t]+C\.V\.)?|S\.A\.S\.?|S\.A\.C\.?|S\.A\.A\.?|"
    r"S\.A\.R\.L\.?|S\.R\.L\.|S\.L\.U?\.?|S\.p\.A\.|S\.A\.|S\.C\.|B\.V\.|N\.V\.|K\.K\.|E\.I\.R\.L\.|L\.L\.C\.|"
    r"Ltd\.?|Limited|LLC|LLP|Inc\.?|Incorporated|Corp\.?|Corporation|PLC|Plc|plc|GmbH|gGmbH|AG|KG|KGaA|"
    r"SAS|SARL|Sarl|SAC|SAA|SA|SL|SLU|SRL|Srl|SpA|BV|NV|KK|Ltda\.?|EIRL|Cía\.?|Cie|Oy|AB|A/S|ApS|Tbk|JSC|PJSC|"
    r"Co\.|&[ \t]+Co\.?|Company|Holdings?|Group|Groupe|Grupo)"
)
_LEGAL_FORM_AT_END = re.compile(rf"(?<![\w.]){_LEGAL_FORM}[ \t]*[.,]?$")
_INDONESIAN_PT = re.compile(r"^PT\.?[ \t]+[A-Z]")
#: Words naming a kind of organisation, with the requester type each suggests (None: no hint); tried in
#: order, employers first ("Federation of Kenya Employers", "Confederación Patronal").
#: Compiled the first time a signature is read (:func:`_kinds`).
_KIND_PATTERNS: tuple[tuple[str, RequesterType | None], ...] = (
    (r"\b(?:employers?|employeurs?|empleadores|empresari[oa]s)['’]?\s+(?:federation|confederation|association|"
     r"organi[sz]ation|council|f[ée]d[ée]ration|conf[ée]d[ée]ration|association|organisation|federaci[óo]n|"
     r"confederaci[óo]n|asociaci[óo]n|organizaci[óo]n|consejo)\b|"
     r"\b(?:federation|confederation|association|organi[sz]ation|council|f[ée]d[ée]ration|conf[ée]d[ée]ration|"
     r"organisation|federaci[óo]n|confederaci[óo]n|asociaci[óo]n|organizaci[óo]n|consejo)\b[^,|]*"
     r"\b(?:employers|employeurs|empleadores|empresari[oa]s)\b|"
     r"\bpatrona(?:l|t)\b|\bchambers?\s+of\s+(?:commerce|industry)|\bchambre\s+de\s+commerce|"
     r"\bc[áa]mara\s+de\s+(?:comercio|industria)|"
     r"\bmanufacturers['’]?\s+(?:and\s+exporters['’]?\s+)?association|"
     r"\bbusiness\s+(?:council|federation|association)|"
     r"\bconfederation\s+of\s+\w+\s+(?:industry|business)|\bfederation\s+of\s+\w+(?:\s+\w+)?\s+industr|"
     r"\bassociation\s+of\s+(?:\w+\s+){0,3}(?:manufacturers|exporters)|"
     r"\basociaci[óo]n\s+de\s+(?:exportadores|industriales|fabricantes)|"
     r"\bconfederaci[óo]n\s+(?:de\s+la\s+producci[óo]n|empresarial)|"
     r"(?-i:\b(?:CEOE|COPARMEX|CONFIEP|MEDEF|BGMEA|BKMEA|IOE|BusinessEurope)\b)",
     RequesterType.EMPLOYERS_ORGANISATION),
    (r"(?<!european\s)(?<!african\s)\b(?:trade\s+)?unions?\b(?!\s+(?:of\s+the\s+comoros|europ|afric|postale))|"
     r"\bsyndica(?:t|ts|le)\b|\bsindicatos?\b|"
     r"\b(?:federation|confederation|association|organi[sz]ation|council|congress|alliance|centre|f[ée]d[ée]ration|"
     r"conf[ée]d[ée]ration|organisation|centrale|federaci[óo]n|confederaci[óo]n|asociaci[óo]n|organizaci[óo]n|"
     r"central|frente)\b[^,|]*\b(?:workers|travailleu(?:r|rs|ses)|trabajador(?:es|as)|obreros)\b|"
     r"\b(?:workers|travailleurs|trabajadores)['’]?\s+(?:federation|confederation|association|organi[sz]ation|"
     r"council|congress|alliance)\b|"
     r"\blabou?r\s+(?:congress|federation|confederation)|\bconf[ée]d[ée]ration\s+g[ée]n[ée]rale\s+du\s+travail|"
     r"\bcentrale\s+syndicale|\bcentral\s+(?:unitaria|obrera|sindical)|"
     r"(?-i:\b(?:ITUC|CSI|IndustriALL|CGT|CFDT|CCOO|UGT|COSATU|AFL-CIO|CUT|CTM)\b)", RequesterType.WORKERS),
    (r"\bminist(?:ry|[èe]re|erio)\b|\bdepartment\s+of\s+(?:labou?r|employment|manpower)|"
     r"\bsecretar[íi]a\s+(?:de(?:l)?\s+)?trabajo|\blabou?r\s+inspectorate|\binspection\s+du\s+travail|"
     r"\binspecci[óo]n\s+(?:general\s+)?del?\s+trabajo|\bgovernment\s+of\b|\bgouvernement\s+(?:du|de|des)\b|"
     r"\bgobierno\s+de\b|\bembassy\b|\bambassade\b|\bembajada\b|\bpermanent\s+mission\b|"
     r"\bmission\s+permanente\b|\bmisi[óo]n\s+permanente\b|\bdirection\s+g[ée]n[ée]rale\s+du\s+travail|"
     r"\bdirecci[óo]n\s+general\s+del?\s+trabajo|\bsuperintendencia\b|(?-i:\bSUNAFIL\b)|"
     r"\bmunicipality\b|\bmunicipalit[ée]\b|\bmunicipalidad\b|\bpr[ée]fecture\b", RequesterType.GOVERNMENT),
    (r"\buniversit(?:y|[ée]|ad)\b|\bfoundation\b|\bfondation\b|\bfundaci[óo]n\b|(?-i:\b(?:NGO|ONG)\b)|"
     r"\binstitute\b|\binstitut\b|\binstituto\b|\bcentre\s+for\b|\bcenter\s+for\b|\bcentro\s+de\b",
     RequesterType.OTHER),
    (r"\bco-?op[ée]ratives?\b|\bcooperativa\b|\bfederation\b|\bf[ée]d[ée]ration\b|\bfederaci[óo]n\b|"
     r"\bconfederation\b|\bconf[ée]d[ée]ration\b|\bconfederaci[óo]n\b|\bassociation\b|\basociaci[óo]n\b|"
     r"\bcouncil\b|\bconseil\b|\bconsejo\b|\bchamber\b|\bchambre\b|\bc[áa]mara\b|\bagency\b|\bagence\b|"
     r"\bagencia\b|\bcommission\b|\bcomisi[óo]n\b|\boffice\s+(?:national|of)\b|\bnetwork\b|\br[ée]seau\b|"
     r"\bred\s+de\b", None),
    (r"\bcompany\b|\bcompagnie\b|\bcompa[ñn][íi]a\b|\bempresas?\b|\benterprises?\b|\bentreprises?\b|"
     r"\bindustries\b|\bholdings?\b|\bgroup\b|\bgroupe\b|\bgrupo\b", RequesterType.MANAGEMENT),
)


@cache
def _kinds() -> tuple[tuple[re.Pattern[str], RequesterType | None], ...]:
    return tuple((re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in _KIND_PATTERNS)


#: Nouns that head an organisation's name ("Ministry of...", "...Workers Union"): a segment holding words
#: of a job title still names an organisation when it starts or ends with one of these.
_ORG_NOUNS = frozenset("""
ministry ministere ministerio union unions syndicat sindicato federation confederation association council
chamber chambre camara consejo conseil federacion confederacion asociacion department departement
departamento secretaria inspection inspeccion inspectorate embassy ambassade embajada mission mision
university universite universidad institute institut instituto foundation fondation fundacion cooperative
cooperativa congress centrale central agency agence agencia commission comision office bureau oficina
organisation organization organizacion alliance network reseau red
""".split())


#: Words of a job title, folded ("Directrice RSE", "Gerente de Sostenibilidad", "Head of Compliance").
_TITLE_WORDS = frozenset("""
head manager director directrice directeur directora gerente officer responsable coordinator coordinatrice
coordinateur coordinador coordinadora charge chargee jefe jefa analyst analyste analista specialist specialiste
especialista advisor adviser conseiller conseillere asesor asesora secretary secretaire secretario president
presidente presidenta ceo cfo coo cto cso hr rh rse csr compliance sustainability durabilite sostenibilidad lead vp
vice chief founder cofounder owner partner consultant consultante consultor consultora assistant assistante
asistente engineer ingenieur ingeniera ingeniero auditor auditeur auditrice auditora inspector inspecteur
inspectrice inspectora lawyer avocat avocate abogado abogada counsel juriste executive associate intern
stagiaire purchasing sourcing achats compras procurement senior junior delegue deleguee delegado delegada
representative representant representante administrator administrateur administrador administradora supervisor
superviseur encargado encargada gestionnaire gestor gestora treasurer tresorier tesorero tesorera member membre
miembro organiser organizer organisateur organizador organizadora general generale ressources humaines humanos
recursos human resources social sociale affairs asuntos relations relaciones manageuse officer
""".split())
_SEGMENT_BREAK = re.compile(r"[ \t]+[|–—·•/][ \t]+|[ \t]+-[ \t]+|,[ \t]+|[ \t]+(?:at|chez|@)[ \t]+|\t+")
_CUT_WORDS = re.compile(r"[ \t]+(?:of\s+the|of|de\s+la|de\s+l['’]|del|de|du|des|at|chez|en)[ \t]+", re.IGNORECASE)
_ARTICLES = frozenset({"the", "la", "le", "les", "el", "los", "las", "l"})
_LEADING_ARTICLE = re.compile(r"^(?:the|la|le|les|el|los|las|l['’])[ \t]+", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_]+")
_PERSON_NAME = re.compile(r"^(?:[A-ZÀ-Ý][a-zà-ÿ'’\-]+\.?|[A-Z]\.|de|del|de\s+la|van|von|da|dos|du|le|la|y)"
                          r"(?:[ \t]+(?:[A-ZÀ-Ý][a-zà-ÿ'’\-]+|[A-Z]\.|de|del|la|van|von|der|da|dos|du|le|y)){1,4}$")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_title(segment: str) -> bool:
    return any(word in _TITLE_WORDS for word in _WORDS.findall(_fold(segment)))


def _org_headed(segment: str) -> bool:
    """True for "Ministry of Labour and Social Security" or "Kenya Plantation Workers Union"; not for
    "Union Representative" (a title ends it) nor "Government Relations Manager"."""
    words = [w for w in _WORDS.findall(_fold(segment)) if w not in _ARTICLES]
    if not words:
        return False
    return words[-1] in _ORG_NOUNS or (words[0] in _ORG_NOUNS and words[-1] not in _TITLE_WORDS)


def _kind(segment: str) -> tuple[bool, RequesterType | None, str | None]:
    """(names an organisation?, the requester type it suggests, the words behind it)."""
    for pattern, kind in _kinds():
        m = pattern.search(segment)
        if m:
            return True, kind, m.group(0).strip()
    return False, None, None


def _legal_form(segment: str) -> str | None:
    m = _LEGAL_FORM_AT_END.search(segment)
    if m and _WORDS.search(segment[:m.start()]) and segment[:m.start()].strip()[:1].isupper():
        return m.group(0).strip(" ,")
    if _INDONESIAN_PT.match(segment):
        return "PT"
    return None


def _after_title(segment: str) -> str:
    """"Secretario General del Sindicato de Trabajadores" -> "Sindicato de Trabajadores"."""
    for m in _CUT_WORDS.finditer(segment):
        head, rest = segment[:m.start()], segment[m.end():]
        if _is_title(head) and (_kind(rest)[0] or _legal_form(rest)) and not _kind(head)[0]:
            rest = _LEADING_ARTICLE.sub("", rest)
            return rest[:1].upper() + rest[1:]
    return segment


@dataclass(frozen=True)
class _Candidate:
    name: str
    line: str
    legal_form: bool
    kind: RequesterType | None
    kind_words: str | None


def _candidate(line: str) -> _Candidate | None:
    """The organisation a signature line names, if it names one for sure."""
    line = line.strip()
    cuts = [0]
    for m in _SEGMENT_BREAK.finditer(line):
        after = line[m.end():]
        if re.match(_LEGAL_FORM + r"[.,]?(?:$|[ \t]*[|–—·•/,])", after):
            continue  # "Textiles Andinos, S.A.C.": a legal form alone stays with its name
        if m.group(0).startswith(",") and after[:1].islower():
            continue  # "Ministère du Travail, du Plein emploi et de l'Insertion"
        cuts += [m.start(), m.end()]
    cuts.append(len(line))
    merged = [part for part in (line[cuts[i]:cuts[i + 1]].strip(" \t,;:*•·") for i in range(0, len(cuts), 2))
              if part]
    for segment in merged:
        segment = _after_title(segment)
        first = _WORDS.match(_fold(segment))
        if first and first.group(0) in FUNCTION_WORDS and first.group(0) not in _ARTICLES:
            continue  # "We buy from Acme Ltd", "Notre fournisseur Lumière SA": a sentence, not a name
        if segment.endswith(("?", "!")):
            continue
        legal = _legal_form(segment)
        named, kind, words = _kind(segment)
        if not (legal or named):
            continue
        if _is_title(segment) and not legal and not _org_headed(segment):
            continue  # "Head of the Compliance Department", "Union Representative", "Chargée de mission"
        if EMAIL.search(segment) or URL.search(segment) or len(segment) > 90:
            continue
        if legal and kind in (None, RequesterType.MANAGEMENT):
            kind, words = RequesterType.MANAGEMENT, legal
        return _Candidate(segment.rstrip(" ,"), line.strip(), bool(legal), kind, words)
    return None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", _fold(text))


def _matches_domain(line: str, label: str) -> bool:
    """True when a line names the domain's organisation: "Textiles Andinos" and textilesandinos.pe."""
    core, words = _squash(label), _squash(line)
    if len(core) < 4 or not words:
        return False
    return core in words or (len(words) >= 4 and words in core)


def _signature_lines(text: str) -> list[str]:
    """The signature's lines, the sign-off line itself left out.

    Without a sign-off :func:`kb.letter_frame.letter_frame` knows, the last paragraph stands for the
    signature when it is a few short lines ("Salutations syndicales,\nPaul Martin\nFédération...").
    """
    frame = letter_frame((text or "").replace("\r\n", "\n").replace("\r", "\n"))
    if frame.signature >= len(frame.lines):
        return _last_short_paragraph(frame.lines)
    lines = [line for line in frame.lines[frame.signature:frame.signature_end]
             if line.strip() and not line.lstrip().startswith(">")]
    if frame.closing and lines:
        lines = lines[1:]  # "Best regards," / "Cordialement, Marie Dupont"
    return lines[:12]


def _last_short_paragraph(lines: tuple[str, ...]) -> list[str]:
    content = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith(">")]
    if len(content) < 2:
        return []
    start = len(content) - 1
    while start > 0 and content[start - 1] == content[start] - 1:
        start -= 1
    block = [lines[i].strip() for i in content[start:]]
    if start == 0 or not 2 <= len(block) <= 8:
        return []
    if any(len(line) > 90 or re.search(r"[.?!;:]$", line) for line in block):
        return []
    return block[1:] if block[0].endswith(",") else block


def _from_signature(text: str, domain_label: str | None) -> OrganisationSuggestion | None:
    lines = _signature_lines(text)
    plain: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if is_contact_line(stripped):
            continue
        if index == 0 and _PERSON_NAME.match(stripped) and not _legal_form(stripped) and not _kind(stripped)[0]:
            continue  # the signer's name
        candidate = _candidate(stripped)
        if candidate is not None:
            return OrganisationSuggestion(candidate.name, "signature", candidate.line, candidate.kind,
                                          candidate.kind_words)
        plain.append(stripped)
    if domain_label:
        for stripped in plain:  # "Textiles Andinos" under a textilesandinos.pe address
            for segment in _SEGMENT_BREAK.split(stripped):
                segment = segment.strip(" \t,;:")
                if segment and not _is_title(segment) and _matches_domain(segment, domain_label):
                    return OrganisationSuggestion(segment, "signature", stripped)
    return None


def _pretty(label: str) -> str:
    """"acme-textiles" -> "Acme Textiles"; "ilo" -> "ILO"; "mintra" -> "Mintra"."""
    words = [w for w in re.split(r"[-_]+", label) if w]
    out = []
    for word in words:
        if len(word) <= 3 or not re.search(r"[aeiouy]", word):
            out.append(word.upper())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


#: Words in a domain's name that tell an employers' or a workers' organisation: kenya-employers.org, ituc-csi.org.
_EMPLOYERS_LABEL = re.compile(r"employers|employeurs|empleadores|patronal|patronat|chamber|camara|chambre|cci")
_WORKERS_LABEL = re.compile(r"union|syndicat|sindicato|workers|trabajadores|travailleurs|ituc|industriall")


def _from_domain(domain: str) -> OrganisationSuggestion | None:
    parts = _domain_parts(domain)
    if parts is None:
        return None
    label, rest = parts
    if not re.search(r"[a-z]", label) or len(label) < 2:
        return None
    kind, why = None, None
    suffix = rest.split(".")
    if set(suffix) & _GOVERNMENT_LABELS or rest == _SWISS_FEDERAL:
        kind, why = RequesterType.GOVERNMENT, rest
    elif suffix[0] in ("edu", "ac", "int"):
        kind, why = RequesterType.OTHER, rest  # a university, an international organisation
    elif m := _EMPLOYERS_LABEL.search(label):
        kind, why = RequesterType.EMPLOYERS_ORGANISATION, m.group(0)
    elif m := _WORKERS_LABEL.search(label):
        kind, why = RequesterType.WORKERS, m.group(0)
    return OrganisationSuggestion(_pretty(label), "domain", domain, kind, why)


def suggest_organisation(text: str, sender_email: str | None) -> OrganisationSuggestion | None:
    """The requester's organisation from the signature of ``text``, else from ``sender_email``'s domain.

    None when the signature names none for sure and the address is a free-mail one (gmail.com,
    orange.fr...), a reserved one (example.com) or missing.
    """
    domain = None
    if sender_email and "@" in sender_email:
        domain = sender_email.rsplit("@", 1)[1].strip().strip(">").lower() or None
    usable = domain is not None and "." in domain and not is_free_mail(domain) and not _RESERVED.search(domain)
    label = _domain_parts(domain)[0] if usable and _domain_parts(domain) else None
    found = _from_signature(text or "", label)
    if found is not None:
        if found.requester_type is None and usable:
            from_domain = _from_domain(domain)
            if from_domain is not None and from_domain.requester_type is not None:
                found = OrganisationSuggestion(found.name, found.source, found.evidence,
                                               from_domain.requester_type, from_domain.type_evidence)
        return found
    return _from_domain(domain) if usable else None
