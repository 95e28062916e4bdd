"""Which countries a query is about, found in its English, French or Spanish text.

"Our supplier in Guatemala", "au Maroc", "en el Perú", "in Viet Nam", "aux États-Unis",
"in the UK", "Bangladeshi factories", "usine marocaine", "planta guatemalteca": each
names a country the query concerns. :func:`countries_concerned` finds them, says which
words it found, ranks them (a country named with a word of place before it, or beside
supplier/factory/usine/proveedor..., counts more than one named in passing) and flags
the requester's own country, so the caller can store the country concerned apart from it.

The frame of the letter is left out: the salutation ("Dear Jordan,"), the sign-off and
everything after it (signature, address block, quoted earlier mail), a last paragraph that
is a signature without a sign-off (a name, an organisation, contact lines) and quoted lines
("> ..."). What a letter's parts look like comes from :mod:`kb.letter_patterns`;
:func:`letter_frame` is shared with :mod:`kb.organisations`, which reads the signature.

Names come from the :class:`~kb.regions.CountryDirectory` (pycountry's English names and
their French and Spanish translations, and ``kb.regions.ALIASES``) plus the short forms
and adjectives below. Words that are countries only sometimes are checked in context:
"Jordan Smith" and "Mr Chad" are people, "Georgia" beside "Atlanta" is the US state, a
"guinea pig", "roast turkey", "fine china", "New Mexico", "Latin America", "la réunion"
(a meeting) and "en español" (a language) are no countries, "US" counts only as a capital
pair of letters, "Niger" is not found in "Nigeria" nor "India" in "Indiana", and the
longest name wins ("Papua New Guinea", "Guinea-Bissau", "Dominican Republic").

Pure function: the name index is built the first time it is needed (for each directory)
and kept; nothing is built at import time.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from dataclasses import dataclass

import pycountry

from kb.letter_patterns import (
    ADDRESS,
    CLOSING_LINE,
    CLOSING_START,
    CUT_LINE,
    EMAIL,
    LOWER_WORD,
    ORG_SUFFIX,
    POSTCODE_CITY_LINE,
    SALUTATION_LINE,
    SALUTATION_PREFIX,
    URL,
)
from kb.regions import ALIASES, CountryDirectory, UnknownCountryError

__all__ = ["CountryMention", "LetterFrame", "countries_concerned", "is_contact_line", "letter_frame"]


@dataclass(frozen=True)
class CountryMention:
    """A country the query is about.

    ``rank`` is 1 for the best; ``score`` is what the rank follows. ``strong`` means a word of
    place ("in", "au", "en") or of business ("supplier", "usine", "planta", "law") stands beside
    it, as opposed to a country named in passing. ``evidence`` holds the words as written
    ("au Maroc", "Bangladeshi"), ``reasons`` why it counts ("place word 'au'", "near
    'fournisseur'", "adjective", "named 2 times"). ``alternatives`` lists the other countries an
    ambiguous name may be ("Congo": CD, alternatives ("CG",)). ``is_requester_country`` marks the
    requester's own country.
    """

    code: str
    name: str
    region: str | None
    rank: int
    score: float
    strong: bool
    evidence: tuple[str, ...]
    reasons: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    is_requester_country: bool = False


# --------------------------------------------------------------------------- the letter's frame


@dataclass(frozen=True)
class LetterFrame:
    """Where the parts of a letter are, by line (``text.split("\\n")`` after line ends are made ``\\n``).

    ``body`` lists the lines that carry the message (not the salutation, sign-off, signature or
    quoted mail; an address given in the message, "our plant: 12 Harbour Road, Tema, Ghana", stays);
    ``salutation_end`` is how many characters of line ``salutation_line`` belong to a salutation
    that goes on ("Hello team, we..."), or the whole line's length; ``signature`` is the index of
    the first line of the sign-off or signature (``len(lines)`` when there is none),
    ``signature_end`` the index where quoted mail starts after it, and ``closing`` says whether
    a sign-off or a signature delimiter ("-- ") opens the signature.
    """

    lines: tuple[str, ...]
    body: frozenset[int]
    salutation_line: int | None
    salutation_end: int
    signature: int
    signature_end: int
    closing: bool


#: The first words of a line holding contact details rather than prose.
_CONTACT_LABEL = re.compile(
    r"(?i)^[ \t>*•·\-]*(?:tel|t[ée]l|t[ée]l[ée]phone|tel[ée]fono|phone|ph|mobile|mob|m[óo]vil|cell|portable|fax|"
    r"whatsapp|e-?mail|courriel|correo|mail|web|website|site\s+web|sitio\s+web|address|adresse|direcci[óo]n|"
    r"skype|linkedin|twitter|[tmfe])\b\.?\s*[:.(+\d]"
)
_SENTENCE_END_AT_EOL = re.compile(r"[.?!:;]\s*$")


#: Every contact line holds one of these (a digit, an @, a link); prose lines mostly hold none.
_CONTACT_HINT = re.compile(r"[\d@]|www\.|https?:|\.(?:com|org|net|int)\b")


def is_contact_line(line: str) -> bool:
    """True for a line of contact details: "Tel: +233...", an e-mail address or link, a postal address."""
    stripped = line.strip()
    if not stripped or not _CONTACT_HINT.search(stripped):
        return False
    if _CONTACT_LABEL.match(stripped) or POSTCODE_CITY_LINE.match(stripped):
        return True
    words = stripped.count(" ") + 1
    if words > 10:
        return False
    if words <= 8 and ("@" in stripped or "www." in stripped or "http" in stripped) and (
            EMAIL.search(stripped) or URL.search(stripped)):
        return True
    if ADDRESS.search(stripped):
        rest = ADDRESS.sub("", stripped)
        return not LOWER_WORD.search(rest)
    return False


_NAME_LINE = re.compile(r"^[ \t]*(?:[A-ZÀ-Ý][\w'’.\-]*[ \t]+){1,3}[A-ZÀ-Ý][\w'’.\-]*[ \t]*$")
_ORG_SUFFIX_ANYWHERE = re.compile(rf"(?<![\w]){ORG_SUFFIX}(?![\w])")


def _scoped(pattern: str) -> str:
    """A pattern whose leading global flags ("(?ix)...") are made local, so it can join an alternation."""
    m = re.match(r"\(\?([a-zA-Z]+)\)", pattern)
    return f"(?{m.group(1)}:{pattern[m.end():]}\n)" if m else pattern


_FRAME_LINE: list[re.Pattern[str]] = []


def _frame_line() -> re.Pattern[str]:
    """One match a line for :mod:`kb.letter_patterns`' cut, closing and closing-formula lines
    (group ``cut``, ``closing`` or ``formula``), compiled the first time it is needed."""
    if not _FRAME_LINE:
        parts = (f"(?P<{name}>{_scoped(p.pattern)})"
                 for name, p in (("cut", CUT_LINE), ("closing", CLOSING_LINE), ("formula", CLOSING_START)))
        _FRAME_LINE.append(re.compile("|".join(parts)))
    return _FRAME_LINE[0]


def letter_frame(text: str) -> LetterFrame:
    """Split a letter into salutation, body, signature and quoted mail (see :class:`LetterFrame`).

    The sign-off is the first line after the first line of content that is only a closing
    ("Best regards", "Cordialement, Marie", "Saludos") or opens one ("Veuillez agréer...",
    "Quedo atento"), or a signature delimiter ("--") or the start of quoted mail ("On ... wrote:").
    Without one, a last paragraph of short lines holding contact details (or a name and an
    organisation) is the signature.
    """
    lines = tuple(text.split("\n"))
    count = len(lines)
    content = [i for i, line in enumerate(lines) if (stripped := line.lstrip()) and stripped[0] != ">"]
    salutation_line, salutation_end = None, 0
    if content:
        first = content[0]
        if SALUTATION_LINE.match(lines[first]):
            salutation_line, salutation_end = first, len(lines[first])
        elif m := SALUTATION_PREFIX.match(lines[first]):
            salutation_line, salutation_end = first, m.end()
    signature, signature_end, closing = count, count, False
    frame_line = _frame_line()
    for i in content[1:]:  # the first line of content is never the sign-off
        line = lines[i]
        if line.count(" ") > 6 and not line.rstrip().endswith(":"):
            before = lines[i - 1].rstrip()
            if before and before[-1] not in ".!?:;)»\"":
                continue  # a line carrying on a sentence wrapped from the line before opens no closing
        m = frame_line.match(line)
        if m is None:
            continue
        signature = i
        stripped = lines[i].strip()
        if m.lastgroup == "cut" and stripped not in ("--", "-- ") and not stripped.startswith("__"):
            signature_end = i  # quoted mail: no signature, only what is quoted
            break
        closing = True
        signature_end = next((j for j in content if j > i and CUT_LINE.match(lines[j])
                              and lines[j].strip() not in ("--", "-- ")), count)
        break
    if not closing:
        bare = _bare_signature(lines, content, signature)
        if bare is not None:
            signature_end = signature
            signature = bare
    skipped = salutation_line if salutation_line is not None and salutation_end == len(lines[salutation_line]) else -1
    body = frozenset(i for i in content if i < signature and i != skipped)
    return LetterFrame(lines, body, salutation_line, salutation_end, signature, signature_end, closing)


def _bare_signature(lines: tuple[str, ...], content: list[int], end: int) -> int | None:
    """The first line of a last paragraph that is a signature without a sign-off, or None."""
    kept = [i for i in content if i < end]
    if len(kept) < 2:
        return None
    start = len(kept) - 1
    while start > 0 and kept[start - 1] == kept[start] - 1:
        start -= 1
    block = kept[start:]
    if start == 0 or not 1 <= len(block) <= 8:
        return None
    texts = [lines[i].strip() for i in block]
    short = all(len(t) <= 80 and len(t.split()) <= 8 and not _SENTENCE_END_AT_EOL.search(t) for t in texts)
    if not short:
        return None
    if (any(is_contact_line(t) for t in texts) or any(_ORG_SUFFIX_ANYWHERE.search(t) for t in texts)
            or (len(block) >= 2 and _NAME_LINE.match(texts[0]))):
        return block[0]
    return None


# --------------------------------------------------------------------------- folding


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_FOLD_CHARS: dict[str, str] = {}


def _fold_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    out = _FOLD_CHARS.get(ch)
    if out is None:
        if ch in "’‘ʼ`´":
            out = "'"
        elif ch in "‐‑‒–—―":
            out = "-"
        elif ch.isspace():
            out = " "
        else:
            plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out = plain.lower() if len(plain) == 1 else ch
        _FOLD_CHARS[ch] = out
    return out


def _fold(text: str) -> str:
    """Lower case, accents stripped, curly apostrophes and dashes made plain; same length as ``text``."""
    low = text.lower()
    if len(low) != len(text):  # "İ" lowers to two characters
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if low.isascii():
        return low
    return _NON_ASCII.sub(_fold_char, low)


_WORD = re.compile(r"[^\W_]+")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_fold(text)))


# --------------------------------------------------------------------------- the name index

#: How a match must be written: any case, capitalised ("Turkey", not "turkey"), in capitals ("US"), or with
#: its last word capitalised ("La Réunion", not "la réunion", a meeting).
_ANY, _CAPITAL, _UPPER, _CAPITAL_LAST = "any", "capital", "upper", "capital last"


@dataclass(frozen=True)
class _Entry:
    code: str | None  # None: a phrase that is no country ("New Mexico", "guinea pig") and hides one
    adjective: bool = False
    case: str = _ANY
    person: bool = False  # also a person's name ("Jordan", "Chad", "Georgia", "France", "Maurice")
    needs_noun: bool = False  # counts only beside a noun such as law, company, workers ("French law")
    alternatives: tuple[str, ...] = ()


#: Short forms and spellings beyond pycountry's names and ``kb.regions.ALIASES``.
_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("Estados Unidos de América", "Etats-Unis d'Amérique", "Norteamérica", "EUA"),
    "CN": ("PRC",), "SA": ("KSA", "Arabia Saudita", "Arabie Saoudite", "Saudi-Arabia"), "KP": ("DPRK",),
    "KR": ("ROK",),
    "GB": ("Royaume Uni", "Grande Bretagne", "Reino Unido de Gran Bretaña"),
    "VN": ("Viet Nam", "Viêt-nam", "Viet-Nam", "Vietnam"),
    "CI": ("Côte-d'Ivoire", "Cote d Ivoire", "Costa de Marfil"),
    "TR": ("Turquia", "Turkiye"),
    "RU": ("Fédération de Russie", "Federación de Rusia"),
    "MM": ("Birmania", "Myanmar"),
    "BY": ("Biélorussie", "Bielorrusia", "Belarus"),
    "GW": ("Guinea-Bissau", "Guinée Bissau"),
    "KG": ("Kirghizstan", "Kyrgyz Republic"),
    "TL": ("Timor Leste", "Timor-Oriental"),
    "ST": ("São Tomé and Príncipe", "Sao Tomé-et-Principe", "Santo Tomé y Príncipe"),
    "MX": ("Méjico",),
    "KH": ("Kampuchea",),
    "PE": ("Perú", "Pérou"),
    "TN": ("Túnez",),
    "ZA": ("Sud Africa", "Sud-Afrique"),
    "NG": ("Niger Delta", "Delta du Niger", "Delta del Níger"),
    "BD": ("Bangladesh",),
    "BR": ("Brasil",),
    "CV": ("Cabo Verde",),
    "SV": ("El Salvador",),
    "CZ": ("Tchéquie", "Czech Rep"),
    "HK": ("Hongkong",),
    "MO": ("Macau",),
    "PS": ("Gaza", "West Bank", "Cisjordanie", "Cisjordania"),
    "CD": ("RD Congo", "R.D. Congo", "RDC Congo", "Congo-Kinshasa", "Congo Kinshasa"),
    "CG": ("Congo-Brazzaville", "Congo Brazzaville"),
    "RE": ("La Réunion", "Reunion Island", "Île de la Réunion"),
    "GF": ("Guyane",),
}

#: Names several countries share: the first is the likelier in a labour-standards query.
_AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "Congo": ("CD", "CG"),
    "Korea": ("KR", "KP"), "Corée": ("KR", "KP"), "Corea": ("KR", "KP"),
}

#: Phrases that hold a country's name but are no country (they hide the name inside them).
_NOT_COUNTRIES = (
    "New Mexico", "Nouveau-Mexique", "Nuevo México", "New Jersey", "New England", "Nouvelle-Angleterre",
    "Nueva Inglaterra", "New South Wales", "New Guinea", "Nouvelle-Guinée", "Nueva Guinea",
    "Latin America", "South America", "North America", "Central America", "Amérique latine",
    "América Latina", "Latinoamérica", "América del Sur", "América del Norte", "América Central",
    "Latin American", "South American", "North American", "Central American", "Native American",
    "African American", "Bank of America", "Captain America",
    "guinea pig", "guinea pigs", "guinea fowl", "cochon d'Inde", "cochons d'Inde",
    "Indian Ocean", "océan Indien", "océano Índico", "Indian Ocean Rim",
    "fine china", "bone china", "china clay", "china cabinet", "china shop",
    "French fries", "French toast", "French kiss", "Spanish flu", "German measles", "Swiss cheese",
    "Turkish delight", "Mexican wave", "Dutch auction", "Danish pastry", "Brussels sprouts",
    "Georgia Tech", "Georgia State", "state of Georgia",
    "British Columbia", "Colombie-Britannique", "Columbia Británica",
    "Panama hat", "Panama hats", "chapeau panama", "sombrero panamá",
    "Jordan River", "Air Jordan", "Air Jordans",
    "Chad Valley", "hanging chad", "Lake Chad",  # a lake four countries share
    "Isle of Man",  # kept by its own entry below; listed so "Man" never stands alone
    "Guinea worm",
    "Niger river", "fleuve Niger", "río Níger",
)

#: Adjectives and nouns of nationality: (code, English, French, Spanish); "" where there is none or it
#: is too ambiguous (Spanish "indio"). A trailing "*" marks words that are also languages or common words,
#: which count only beside a noun such as law, company or workers ("French law", "empresa española").
_ADJECTIVES: tuple[tuple[str, str, str, str], ...] = (
    ("AF", "Afghan", "afghan", "afgano"), ("DZ", "Algerian", "algérien", "argelino"),
    ("AO", "Angolan", "angolais", "angoleño"), ("AR", "Argentinian", "argentin", "argentino"),
    ("AR", "Argentine", "", ""), ("AU", "Australian", "australien", "australiano"),
    ("AT", "Austrian", "autrichien", "austriaco"), ("BD", "Bangladeshi", "bangladais", "bangladesí"),
    ("BD", "", "bangladeshi", "bangladesi"), ("BE", "Belgian", "belge", "belga"),
    ("BJ", "Beninese", "béninois", "beninés"), ("BO", "Bolivian", "bolivien", "boliviano"),
    ("BR", "Brazilian", "brésilien", "brasileño"), ("BF", "Burkinabe", "burkinabè", "burkinés"),
    ("BF", "Burkinabè", "burkinabe", ""), ("MM", "Burmese", "birman", "birmano"),
    ("KH", "Cambodian", "cambodgien", "camboyano"), ("CM", "Cameroonian", "camerounais", "camerunés"),
    ("CA", "Canadian", "canadien", "canadiense"), ("TD", "Chadian", "tchadien", "chadiano"),
    ("CL", "Chilean", "chilien", "chileno"), ("CN", "Chinese*", "chinois*", "chino*"),
    ("CO", "Colombian", "colombien", "colombiano"), ("CD", "Congolese", "congolais", "congoleño"),
    ("CR", "Costa Rican", "costaricien", "costarricense"), ("CR", "", "costaricain", ""),
    ("CI", "Ivorian", "ivoirien", "marfileño"), ("HR", "Croatian", "croate", "croata"),
    ("CU", "Cuban", "cubain", "cubano"), ("CZ", "Czech*", "tchèque*", "checo*"),
    ("DK", "Danish*", "danois*", "danés*"), ("DO", "Dominican", "dominicain", "dominicano"),
    ("EC", "Ecuadorian", "équatorien", "ecuatoriano"), ("EG", "Egyptian", "égyptien", "egipcio"),
    ("SV", "Salvadoran", "salvadorien", "salvadoreño"), ("SV", "Salvadorian", "", ""),
    ("ET", "Ethiopian", "éthiopien", "etíope"), ("FI", "Finnish*", "finlandais*", "finlandés*"),
    ("FR", "French*", "français*", "francés*"), ("DE", "German*", "allemand*", "alemán*"),
    ("GH", "Ghanaian", "ghanéen", "ghanés"), ("GR", "Greek*", "grec*", "griego*"),
    ("GT", "Guatemalan", "guatémaltèque", "guatemalteco"), ("GN", "Guinean", "guinéen", "guineano"),
    ("HT", "Haitian", "haïtien", "haitiano"), ("HN", "Honduran", "hondurien", "hondureño"),
    ("HU", "Hungarian*", "hongrois*", "húngaro*"), ("IN", "Indian*", "indien*", ""),
    ("ID", "Indonesian*", "indonésien*", "indonesio*"), ("IR", "Iranian", "iranien", "iraní"),
    ("IQ", "Iraqi", "irakien", "iraquí"), ("IE", "Irish*", "irlandais*", "irlandés*"),
    ("IL", "Israeli", "israélien", "israelí"), ("IT", "Italian*", "italien*", "italiano*"),
    ("JM", "Jamaican", "jamaïcain", "jamaicano"), ("JP", "Japanese*", "japonais*", "japonés*"),
    ("JO", "Jordanian", "jordanien", "jordano"), ("KZ", "Kazakh", "kazakh", "kazajo"),
    ("KE", "Kenyan", "kényan", "keniano"), ("KE", "", "kenyan", "keniata"),
    ("KR", "Korean*", "coréen*", "coreano*"), ("KW", "Kuwaiti", "koweïtien", "kuwaití"),
    ("LA", "Laotian", "laotien", "laosiano"), ("LB", "Lebanese", "libanais", "libanés"),
    ("LS", "Basotho", "", ""), ("LR", "Liberian", "libérien", "liberiano"),
    ("MG", "Malagasy*", "malgache*", "malgache*"), ("MW", "Malawian", "malawite", "malauí"),
    ("MW", "", "malawien", "malawiano"), ("MY", "Malaysian", "malaisien", "malasio"),
    ("MY", "", "malaysien", ""), ("ML", "Malian", "malien", "maliense"),
    ("MR", "Mauritanian", "mauritanien", "mauritano"), ("MU", "Mauritian", "mauricien", "mauriciano"),
    ("MX", "Mexican", "mexicain", "mexicano"), ("MN", "Mongolian*", "mongol*", "mongol*"),
    ("MA", "Moroccan", "marocain", "marroquí"), ("MZ", "Mozambican", "mozambicain", "mozambiqueño"),
    ("NP", "Nepalese", "népalais", "nepalí"), ("NP", "Nepali*", "", "nepalés"),
    ("NL", "Dutch*", "néerlandais*", "neerlandés*"), ("NL", "", "hollandais*", "holandés*"),
    ("NZ", "", "néo-zélandais", "neozelandés"), ("NI", "Nicaraguan", "nicaraguayen", "nicaragüense"),
    ("NE", "Nigerien", "nigérien", "nigerino"), ("NG", "Nigerian", "nigérian", "nigeriano"),
    ("NO", "Norwegian*", "norvégien*", "noruego*"), ("OM", "Omani", "omanais", "omaní"),
    ("PK", "Pakistani", "pakistanais", "pakistaní"), ("PK", "", "", "paquistaní"),
    ("PS", "Palestinian", "palestinien", "palestino"), ("PA", "Panamanian", "panaméen", "panameño"),
    ("PY", "Paraguayan", "paraguayen", "paraguayo"), ("PE", "Peruvian", "péruvien", "peruano"),
    ("PH", "Filipino*", "philippin", "filipino*"), ("PH", "Philippine", "", ""),
    ("PL", "Polish*", "polonais*", "polaco*"), ("PT", "Portuguese*", "portugais*", "portugués*"),
    ("QA", "Qatari", "qatarien", "catarí"), ("QA", "", "qatari", "qatarí"),
    ("RO", "Romanian*", "roumain*", "rumano*"), ("RU", "Russian*", "russe*", "ruso*"),
    ("RW", "Rwandan", "rwandais", "ruandés"), ("SA", "Saudi", "saoudien", "saudí"),
    ("SN", "Senegalese", "sénégalais", "senegalés"), ("RS", "Serbian*", "serbe*", "serbio*"),
    ("SL", "Sierra Leonean", "sierra-léonais", "sierraleonés"), ("SG", "Singaporean", "singapourien",
                                                                   "singapurense"),
    ("ZA", "South African", "sud-africain", "sudafricano"), ("SS", "South Sudanese", "sud-soudanais",
                                                              "sursudanés"),
    ("ES", "Spanish*", "espagnol*", "español*"), ("LK", "Sri Lankan", "sri-lankais", "esrilanqués"),
    ("LK", "", "srilankais", "ceilandés"), ("SD", "Sudanese", "soudanais", "sudanés"),
    ("SE", "Swedish*", "suédois*", "sueco*"), ("CH", "Swiss", "suisse", "suizo"),
    ("SY", "Syrian", "syrien", "sirio"), ("TW", "Taiwanese", "taïwanais", "taiwanés"),
    ("TJ", "Tajik", "tadjik", "tayiko"), ("TZ", "Tanzanian", "tanzanien", "tanzano"),
    ("TH", "Thai*", "thaïlandais", "tailandés"), ("TG", "Togolese", "togolais", "togolés"),
    ("TN", "Tunisian", "tunisien", "tunecino"), ("TR", "Turkish*", "turc*", "turco*"),
    ("TM", "Turkmen*", "turkmène*", "turcomano*"), ("UG", "Ugandan", "ougandais", "ugandés"),
    ("UA", "Ukrainian*", "ukrainien*", "ucraniano*"), ("AE", "Emirati", "émirien", "emiratí"),
    ("GB", "British", "britannique", "británico"), ("US", "American*", "américain*", "estadounidense"),
    ("US", "", "étatsunien", "norteamericano"), ("UY", "Uruguayan", "uruguayen", "uruguayo"),
    ("UZ", "Uzbek*", "ouzbek*", "uzbeko*"), ("VE", "Venezuelan", "vénézuélien", "venezolano"),
    ("VN", "Vietnamese*", "vietnamien*", "vietnamita*"), ("YE", "Yemeni", "yéménite", "yemení"),
    ("ZM", "Zambian", "zambien", "zambiano"), ("ZW", "Zimbabwean", "zimbabwéen", "zimbabuense"),
    ("BH", "Bahraini", "bahreïnien", "bareiní"), ("BG", "Bulgarian*", "bulgare*", "búlgaro*"),
    ("SO", "Somali*", "somalien", "somalí*"), ("ER", "Eritrean", "érythréen", "eritreo"),
    ("NA", "Namibian", "namibien", "namibio"), ("BW", "Botswanan", "botswanais", "botsuano"),
    ("GA", "Gabonese", "gabonais", "gabonés"), ("NE", "", "", "nigerina"),
    ("LY", "Libyan", "libyen", "libio"), ("BT", "Bhutanese", "bhoutanais", "butanés"),
    ("AM", "Armenian*", "arménien*", "armenio*"), ("AZ", "Azerbaijani*", "azerbaïdjanais*", "azerbaiyano*"),
    ("GE", "Georgian*", "géorgien*", "georgiano*"), ("FJ", "Fijian*", "fidjien", "fiyiano"),
)

#: Names that also mean something else, in the case they must be written in to count.
_CASE_RULES: dict[str, str] = {
    "turkey": _CAPITAL, "china": _CAPITAL, "chile": _CAPITAL, "chili": _CAPITAL, "guinea": _CAPITAL,
    "jersey": _CAPITAL, "guernsey": _CAPITAL, "chad": _CAPITAL, "jordan": _CAPITAL, "georgia": _CAPITAL,
    "india": _CAPITAL, "malta": _CAPITAL, "japan": _CAPITAL, "tonga": _CAPITAL, "bermuda": _CAPITAL,
    "america": _CAPITAL, "wales": _CAPITAL, "holland": _CAPITAL, "panama": _CAPITAL, "cuba": _CAPITAL,
    "dominica": _CAPITAL, "dominique": _CAPITAL, "guadalupe": _CAPITAL, "guadeloupe": _CAPITAL,
    "martinique": _CAPITAL, "maurice": _CAPITAL, "israel": _CAPITAL, "kenya": _CAPITAL,
    "niger": _CAPITAL, "mali": _CAPITAL, "togo": _CAPITAL, "salvador": _CAPITAL, "polish": _CAPITAL, "gales": _CAPITAL,
    "chine": _CAPITAL, "catar": _CAPITAL, "grenade": _CAPITAL, "hollande": _CAPITAL, "la reunion": _CAPITAL_LAST,
    "reunion island": _CAPITAL, "ile de la reunion": _CAPITAL_LAST,
    "us": _UPPER, "u s": _UPPER, "usa": _UPPER, "eau": _UPPER, "e a u": _UPPER, "rdc": _UPPER,
    "drc": _UPPER, "rd congo": _CAPITAL, "eua": _UPPER, "fyrom": _UPPER, "uae": _ANY, "prc": _UPPER,
    "ksa": _UPPER, "dprk": _UPPER, "rok": _UPPER,
}
#: Names that are also people's first names or surnames.
_PERSON_NAMES = frozenset({
    "jordan", "chad", "georgia", "india", "israel", "kenya", "france", "maurice", "martinique", "america",
    "holland", "salvador", "guadalupe", "jersey", "cuba", "chile", "mali", "niger", "tonga", "dominique",
    "lebanon", "trinidad", "florence", "cyprus", "guinea", "hollande",
})
#: Names left out: Spanish "Granada" (Grenada) is far more often the city; "Man", "Christmas", "Norfolk" alone;
#: "Réunion" alone is a meeting (the island is "La Réunion"); names two territories share ("Saint-Martin").
_SKIPPED_NAMES = frozenset({"granada", "man", "christmas", "cocos", "santa elena", "heard", "norfolk",
                            "reunion", "reunion ile de la", "saint martin", "san martin", "virgin islands",
                            "islas virgenes", "iles vierges"})


def _adjective_forms(word: str, language: str) -> set[str]:
    """The gender and number forms of an adjective of nationality ("marocain" -> marocaine, marocains...)."""
    w = word
    if language == "en":
        return {w, w + "s"} if w.endswith(("an", "i", "ian")) and " " not in w else {w}
    if language == "fr":
        if w.endswith("ien") or w.endswith("éen"):
            return {w, w + "ne", w + "s", w + "nes"}
        if w.endswith("e"):
            return {w, w + "s"}
        if w.endswith(("ais", "ois")):
            return {w, w + "e", w + "es"}
        if w == "turc":
            return {"turc", "turque", "turcs", "turques"}
        if w == "grec":
            return {"grec", "grecque", "grecs", "grecques"}
        return {w, w + "e", w + "s", w + "es"}
    if w.endswith("o"):
        return {w, w[:-1] + "a", w + "s", w[:-1] + "as"}
    if w.endswith("és"):
        return {w, w[:-2] + "esa", w[:-2] + "eses", w[:-2] + "esas"}
    if w.endswith("án"):
        return {w, w[:-2] + "ana", w[:-2] + "anes", w[:-2] + "anas"}
    if w.endswith(("í", "ú")):
        return {w, w + "es", w + "s"}
    if w.endswith("e") or w.endswith("a"):
        return {w, w + "s"}
    return {w, w + "es", w + "a", w + "as"}


class _Index:
    """Country names, short forms and adjectives, by first word, each first word with one regex."""

    def __init__(self, directory: CountryDirectory) -> None:
        entries: dict[tuple[str, ...], _Entry] = {}
        clashes: set[tuple[str, ...]] = set()

        def add(text: str, entry: _Entry) -> None:
            key = _tokens(text)
            if not key:
                return
            if key[0] == "the" and len(key) > 1:
                key = key[1:]
            joined = " ".join(key)
            if joined in _SKIPPED_NAMES and entry.code is not None:
                return
            case = _CASE_RULES.get(joined, entry.case)
            person = entry.person or joined in _PERSON_NAMES
            entry = _Entry(entry.code, entry.adjective, case, person, entry.needs_noun, entry.alternatives)
            old = entries.get(key)
            if old is None:
                entries[key] = entry
            elif old.code != entry.code and old.code is not None and entry.code is not None:
                if old.adjective and not entry.adjective:
                    entries[key] = entry  # a name wins over an adjective spelt the same ("Suisse")
                elif not (entry.adjective and not old.adjective):
                    clashes.add(key)

        # names: pycountry's English names, their French and Spanish translations, the aliases
        for record in pycountry.countries:
            code = record.alpha_2
            names = {getattr(record, "common_name", None), record.name, getattr(record, "official_name", None),
                     directory.name(code, "fr"), directory.name(code, "es")}
            for name in filter(None, names):
                for variant in _variants(name):
                    add(variant, _Entry(code))
        for code, aliases in ALIASES.items():
            for alias in aliases:
                add(alias, _Entry(code))
        for code, names in _EXTRA_NAMES.items():
            for name in names:
                add(name, _Entry(code))
        for key in clashes:  # a name two countries share is looked at again below, or left out
            del entries[key]
        for name, codes in _AMBIGUOUS.items():
            entries[_tokens(name)] = _Entry(codes[0], alternatives=codes[1:])
        for phrase in _NOT_COUNTRIES:
            key = _tokens(phrase)
            if phrase == "Isle of Man":
                entries[key] = _Entry("IM")
            else:
                entries[key] = _Entry(None)
        for code, *words in _ADJECTIVES:
            for language, word in zip(("en", "fr", "es"), words):
                if not word:
                    continue
                needs_noun = word.endswith("*")
                word = word.rstrip("*")
                for form in _adjective_forms(word, language):
                    key = _tokens(form)
                    if key and key not in entries:
                        case = _CAPITAL if language == "en" and _CASE_RULES.get(key[0]) == _CAPITAL else _ANY
                        entries[key] = _Entry(code, adjective=True, case=case, needs_noun=needs_noun)
        self.entries = entries
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for key in entries:
            by_first.setdefault(key[0], []).append(key)
        self.by_first = by_first
        self.first_words = frozenset(by_first)
        self._patterns: dict[str, re.Pattern[str]] = {}
        self.keys_by_text: dict[str, tuple[str, ...]] = {}  # "côte d'ivoire" as matched -> its key

    def pattern(self, first: str) -> re.Pattern[str]:
        """The regex finding every phrase that starts with ``first``, longest first."""
        compiled = self._patterns.get(first)
        if compiled is None:
            keys = self.by_first[first]
            rests = sorted((key[1:] for key in keys if len(key) > 1), key=lambda r: (-len(r), r))
            alone = any(len(key) == 1 for key in keys)
            body = re.escape(first)
            if rests:
                alternation = "|".join(_SEP.join(re.escape(t) for t in rest) for rest in rests)
                body += f"(?:{_SEP}(?:{alternation})){'?' if alone else ''}"
            compiled = re.compile(body + r"(?![^\W_])")
            self._patterns[first] = compiled
        return compiled


#: What may stand between the words of a name: spaces, a hyphen, an apostrophe, an abbreviation's full stop.
_SEP = r"(?:\.?[ \t\-']{1,2}\n?[ \t]*|\.|\n[ \t]*)"


def _variants(name: str) -> set[str]:
    """A catalogue name and its usual shorter forms: "Bolivia, Plurinational State of" -> "Bolivia" and
    "Plurinational State of Bolivia"; "Cocos (Keeling), Îles" -> "Îles Cocos (Keeling)"; parentheses dropped."""
    out = {name}
    plain = re.sub(r"\s*\([^)]*\)", "", name).strip()
    out.add(plain)
    if "," in plain:
        head, rest = (part.strip() for part in plain.split(",", 1))
        if rest[:1].islower():
            out.add(head)  # "Islas Vírgenes, de EEUU.": no name reads "de EEUU. Islas Vírgenes"
        elif re.match(r"(?i)(?:île|îles|isla|islas|island|islands)\b", rest):
            out.add(f"{rest} {head}")
        else:
            out.add(head)
            out.add(f"{rest} {head}")
        out.discard(plain)
        out.discard(name)
    return {v for v in out if v}


_INDEXES: weakref.WeakKeyDictionary[CountryDirectory, _Index] = weakref.WeakKeyDictionary()


def _index(directory: CountryDirectory) -> _Index:
    index = _INDEXES.get(directory)
    if index is None:
        index = _INDEXES[directory] = _Index(directory)
    return index


# --------------------------------------------------------------------------- context words

#: Words of place before a name: "in Guatemala", "au Maroc", "en el Perú", "within the EU".
_PLACE_WORDS = frozenset({
    "in", "inside", "within", "across", "throughout", "en", "au", "aux", "dans", "a", "dentro",
})
#: Weaker links: "from Ghana", "to Qatar", "of Peru", "du Maroc", "de Chile", "desde México".
_LINK_WORDS = frozenset({
    "from", "to", "into", "of", "for", "de", "du", "des", "d", "del", "desde", "hacia", "vers", "para", "pour",
    "between", "entre", "via", "por",
})
_ARTICLES = frozenset({"the", "le", "la", "les", "l", "el", "los", "las"})

#: Words of business or law near a name that show the query is about that country.
_CUES = frozenset("""
supplier suppliers supply sourcing sourced source factory factories plant plants operation operations operate
operates operating subsidiary subsidiaries site sites facility facilities mine mines mining farm farms
plantation plantations warehouse warehouses workshop workshops mill mills manufacturer manufacturers manufacturing
production producer producers contractor contractors subcontractor subcontractors vendor vendors workers worker
employees employee staff workforce office offices branch branches affiliate affiliates based located
headquartered recruitment recruited recruit migrant migrants garment garments textile textiles
law laws legislation legal code regulation regulations ratified ratify government ministry authorities courts
company companies firm firms employer employers brand brands buyer buyers market
fournisseur fournisseurs fournisseuse usine usines filiale filiales sous traitant traitants soustraitant
atelier ateliers exploitation exploitations entrepot entrepots producteur producteurs fabricant fabricants
fabrication travailleurs travailleur travailleuses salaries employes personnel activites operations implantation
implantations bureau bureaux succursale succursales approvisionnement usine sites loi lois legislation droit
reglementation gouvernement ministere autorites tribunaux entreprise entreprises societe societes employeur
employeurs marque marques acheteur acheteurs recrutement migrants ouvriers ouvrieres
proveedor proveedores proveedora planta plantas fabrica fabricas filial filiales subcontratista subcontratistas
taller talleres plantacion plantaciones mina minas almacen almacenes produccion productor productores
fabricante fabricantes maquila maquilas maquiladora maquiladoras trabajadores trabajador trabajadoras empleados
empleadas personal operaciones operamos finca fincas oficina oficinas sucursal sucursales abastecimiento
ley leyes legislacion codigo normativa gobierno ministerio autoridades tribunales empresa empresas compania
companias empleador empleadores marca marcas comprador compradores reclutamiento migrantes obreros sede
""".split())
#: Nouns that make an adjective of nationality that is also a language count ("French law", "ley española").
_NATIONAL_NOUNS = _CUES | frozenset("""
labour labor context nationals citizens citizen ports port embassy consulate customs union unions
contexte ressortissants syndicat syndicats ambassade
contexto nacionales ciudadanos sindicato sindicatos embajada
""".split())
#: Words before an adjective that make it a language: "in French", "parle espagnol", "en español".
_LANGUAGE_BEFORE = frozenset("""
in into en speak speaks speaking spoken parle parlez parlons parlent habla hablo hablamos hablan translate
translated translation traduire traduit traduction traducir traducido traduccion version my mon mi our notre
nuestro nuestra
""".split())
_LANGUAGE_AFTER = frozenset("""
version versions translation speaking speaker speakers language langue idioma lengua text texte texto
subtitles hablantes parlant parlants
""".split())
_TITLES = frozenset("""
mr mrs ms mx dr prof sir m mme mlle sr sra srta don dona senor senora monsieur madame mademoiselle
herr frau miss
""".split())
#: Capitalised words after a country's name that are no surname ("Jordan Valley", "Georgia Tech").
_NOT_SURNAMES = frozenset("""
valley river basin delta republic government ministry office labour labor law laws code tech state province
city capital university institute national bank airways airlines house embassy limited ltd plc inc group
company corporation
""".split())
_OPENERS = ("my name is", "name is", "i am", "i'm", "im", "this is", "je m'appelle", "m'appelle", "je suis",
            "me llamo", "soy", "mi nombre es")

_US_STATE_SIGNALS = re.compile(
    r"\b(?:atlanta|savannah|augusta|macon|columbus,?\s*ga|athens,?\s*ga|georgia,?\s*(?:usa|u\.s\.a?\.?|us)\b|"
    r"ga\s+\d{5}|state\s+of\s+georgia|peach\s+state)"
)
_CAUCASUS_SIGNALS = re.compile(r"\b(?:tbilisi|batumi|kutaisi|caucasus|caucase|caucaso|georgian\s+lari|lari)\b")
_CONGO_SIGNALS = {
    "CD": re.compile(r"\b(?:kinshasa|lubumbashi|katanga|kolwezi|kivu|goma|bukavu|ituri|kasai|cobalt|coltan|"
                     r"drc|rdc|democratic|democratique|democratica)\b"),
    "CG": re.compile(r"\b(?:brazzaville|pointe[\s-]noire)\b"),
}
_FOOD_BEFORE = frozenset({"roast", "roasted", "smoked", "sliced", "thanksgiving", "christmas", "wild", "ground",
                          "stuffed", "eat", "ate", "cooked"})
_FOOD_AFTER = frozenset({"sandwich", "sandwiches", "breast", "meat", "dinner", "bacon", "burger", "burgers",
                         "slices", "leg", "legs", "wings", "stuffing", "roast", "club", "ham", "gravy"})
_FABRIC_AFTER = frozenset({"fabric", "fabrics", "knit", "knitted", "cotton", "shirt", "shirts", "dress", "top",
                           "tops", "tissu", "maille", "coton", "tela", "algodon", "punto"})
_US_NOT_COUNTRY_AFTER = frozenset({"dollar", "dollars", "dolares", "dolar", "cents", "cent"})
_ALLCAPS_VERBS = frozenset({"contact", "help", "join", "about", "for", "with", "to", "let", "tell", "send",
                            "email", "call", "give", "write", "follow", "visit", "ask", "of", "from", "all",
                            "between", "among", "by", "save", "trust", "support", "find", "meet"})

#: Names looked at in context whatever their case rule.
_CHECKED_IN_CONTEXT = frozenset({"georgia", "turkey", "jersey", "us", "u s"})

_SENTENCE_BREAK = re.compile(r"[.!?;]\s|\n[ \t]*\n")


def _words_before(folded: str, start: int, limit: int = 70) -> list[str]:
    window = folded[max(0, start - limit):start]
    cut = None
    for cut in _SENTENCE_BREAK.finditer(window):
        pass
    return _WORD.findall(window[cut.end():] if cut else window)


def _words_after(folded: str, end: int, limit: int = 70) -> list[str]:
    window = folded[end:end + limit]
    cut = _SENTENCE_BREAK.search(window)
    return _WORD.findall(window[:cut.start()] if cut else window)


_GAP_CHARS = frozenset(" \t\n':-•*")


def _word_back(folded: str, end: int, floor: int) -> tuple[str | None, int]:
    """The word that ends ``end`` after at most four spaces, apostrophes or list marks ("in:\n- "),
    and where it starts."""
    j = end
    while j > floor and folded[j - 1] in _GAP_CHARS:
        j -= 1
    if j == end or end - j > 4:
        return None, end
    k = j
    while k > floor and folded[k - 1].isalnum():
        k -= 1
    return (folded[k:j], k) if k < j else (None, end)


def _adjacent_before(folded: str, start: int) -> tuple[str | None, str | None, int, int]:
    """The word right before a name and the one before it, with nothing but spaces or an apostrophe
    between them ("en el Perú", "d'Inde", "in the UK"), and where each starts."""
    floor = max(0, start - 40)
    near, near_start = _word_back(folded, start, floor)
    if near is None:
        return None, None, start, start
    far, far_start = _word_back(folded, near_start, floor)
    return near, far, near_start, far_start if far is not None else start


def _next_original_word(text: str, end: int) -> str | None:
    m = re.match(r"[ \t]([^\W\d_][\w'’\-]*)", text[end:end + 40])
    return m.group(1) if m else None


def _previous_original_word(text: str, start: int) -> str | None:
    m = re.search(r"([^\W\d_][\w'’\-]*)\.?[ \t]$", text[max(0, start - 40):start])
    return m.group(1) if m else None


def _is_proper_name(word: str | None) -> bool:
    return bool(word) and word[0].isupper() and any(c.islower() for c in word[1:])


# --------------------------------------------------------------------------- the search


@dataclass
class _Found:
    start: int
    end: int
    key: tuple[str, ...]
    entry: _Entry


_WORD_BREAKS: dict[int, str] = {}


def _word_set(folded: str) -> set[str]:
    """The words of a folded text, quickly: its ASCII punctuation made spaces. What is left that is not
    ASCII (an emoji, "œ", Cyrillic) is made "?" first, which keeps ``str.translate`` on its fast path; no
    name's first word holds such a letter once folded."""
    if not _WORD_BREAKS:
        for code in (*range(0x00, 0x30), *range(0x3A, 0x41), *range(0x5B, 0x61), *range(0x7B, 0x80)):
            _WORD_BREAKS[code] = " "
    if not folded.isascii():
        folded = folded.encode("ascii", "replace").decode("ascii")
    return set(folded.translate(_WORD_BREAKS).split())


def _raw_matches(text: str, folded: str, index: _Index) -> list[_Found]:
    """Every name found, the longest at each place, left to right (overlaps go to the earlier, longer one)."""
    present = index.first_words.intersection(_word_set(folded))
    found: list[tuple[int, int, tuple[str, ...], _Entry]] = []
    keys = index.keys_by_text
    for first in present:
        for m in index.pattern(first).finditer(folded):
            start = m.start()
            if start and (folded[start - 1].isalnum() or folded[start - 1] == "_"):
                continue
            matched = m.group(0)
            key = keys.get(matched)
            if key is None:
                key = tuple(_WORD.findall(matched))
                if len(keys) < 20_000:
                    keys[matched] = key
            entry = index.entries.get(key)
            if entry is None or (entry.case == _UPPER and not text[start:m.end()].isupper()):
                continue  # "us", "eau", "usa" in lower case are words
            found.append((start, m.end(), key, entry))
    found.sort(key=lambda f: (f[0], f[0] - f[1]))
    kept: list[_Found] = []
    last_end = -1
    for start, end, key, entry in found:
        if start >= last_end:
            kept.append(_Found(start, end, key, entry))
            last_end = end
    return kept


def _case_ok(original: str, case: str) -> bool:
    if case == _ANY:
        return True
    if case == _CAPITAL:
        return original[:1].isupper()
    if case == _CAPITAL_LAST:
        return original.split()[-1][:1].isupper()
    letters = [c for c in original if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _rejected(text: str, folded: str, f: _Found, index: _Index) -> bool:
    """True when a match is no country here: a person, a US state, food, fabric, a language..."""
    entry, key = f.entry, f.key
    joined = " ".join(key)
    if entry.case == _ANY and not entry.person and not entry.needs_noun and joined not in _CHECKED_IN_CONTEXT:
        return False
    if not _case_ok(text[f.start:f.end], entry.case):
        # chat is often written in lower case: "factory in jordan", "usine en chine" still count
        if entry.case != _CAPITAL or entry.adjective:
            return True
        near = _word_back(folded, f.start, max(0, f.start - 20))[0]
        if near not in _PLACE_WORDS or near == "a":
            return True
    near = _adjacent_before(folded, f.start)[0]
    prev_word = _previous_original_word(text, f.start)
    next_word = _next_original_word(text, f.end)
    if entry.person:
        if prev_word and prev_word[0].isupper() and _fold(prev_word) in _TITLES:
            return True  # "Mr Jordan", "Sra. Georgia"
        before = folded[max(0, f.start - 20):f.start].rstrip()
        if any(before.endswith(opener) for opener in _OPENERS) and near not in _PLACE_WORDS:
            return True  # "my name is Jordan", "je m'appelle France"
        if (_is_proper_name(next_word) and _fold(next_word) not in _NOT_SURNAMES
                and text[f.end:f.end + 1] == " " and _fold(next_word) not in index.first_words):
            return True  # "Jordan Smith"
        if (_is_proper_name(prev_word) and text[f.start - 1:f.start] == " "
                and _fold(prev_word) not in _PLACE_WORDS | _LINK_WORDS | _ARTICLES | _NOT_SURNAMES
                and _fold(prev_word).rstrip(".") not in _TITLES and _fold(prev_word) not in _CUES
                and not _sentence_start(text, f.start - len(prev_word) - 1)):
            return True  # "Michael Jordan"
        if next_word and _fold(next_word) in ("here",):
            return True  # "Jordan here"
    if joined == "georgia" and _US_STATE_SIGNALS.search(folded) and not _CAUCASUS_SIGNALS.search(folded):
        return True
    if joined == "turkey" and (near in _FOOD_BEFORE or (next_word and _fold(next_word) in _FOOD_AFTER)):
        return True
    if joined == "jersey" and (near in {"a", "un", "le", "du", "de", "new"}
                               or (next_word and _fold(next_word) in _FABRIC_AFTER)):
        return True
    if joined in ("us", "u s"):
        following = _words_after(folded, f.end)[:1]
        if folded[f.end:f.end + 2].lstrip().startswith("$") or (following and following[0] in _US_NOT_COUNTRY_AFTER):
            return True  # US$, US dollars: a currency
        if prev_word and prev_word.isupper() and len(prev_word) > 1 and _fold(prev_word) in _ALLCAPS_VERBS:
            return True  # "CONTACT US", "HELP US"
        line_start = text.rfind("\n", 0, f.start) + 1
        line_end = text.find("\n", f.end)
        line_words = re.findall(r"[^\W\d_]{2,}", text[line_start:line_end if line_end >= 0 else len(text)])
        if len(line_words) >= 3 and sum(w.isupper() for w in line_words) * 2 > len(line_words):
            return True  # a line in capitals: "PLEASE HELP US"
    if entry.adjective and entry.needs_noun:
        after = _words_after(folded, f.end)[:3]
        before = _words_before(folded, f.start)[-3:]
        if near in _LANGUAGE_BEFORE and not (after[:1] and after[0] in _NATIONAL_NOUNS):
            return True
        if after[:1] and after[0] in _LANGUAGE_AFTER:
            return True
        if not (set(after[:2]) & _NATIONAL_NOUNS or set(before) & _NATIONAL_NOUNS):
            return True  # "I speak Spanish", "Chinese New Year": no noun of business or law beside it
    return False


def _sentence_start(text: str, position: int) -> bool:
    """True when ``position`` opens a sentence or a line ("In Jordan": "In" is capitalised for that)."""
    before = text[:max(0, position)].rstrip(" \t")
    return not before or before[-1] in "\n.!?:;\"'“«¿¡(-–—•*>"


def _congo(folded: str, entry: _Entry) -> _Entry:
    for code, signals in _CONGO_SIGNALS.items():
        if signals.search(folded):
            others = tuple(c for c in ("CD", "CG") if c != code)
            return _Entry(code, entry.adjective, entry.case, entry.person, entry.needs_noun, others)
    return entry


def _mask(text: str, frame: LetterFrame) -> str:
    """``text`` with every line outside the body (and a salutation's words) blanked, offsets kept."""
    out = []
    for i, line in enumerate(frame.lines):
        if i not in frame.body:
            out.append(" " * len(line))
        elif i == frame.salutation_line:
            out.append(" " * frame.salutation_end + line[frame.salutation_end:])
        else:
            out.append(line)
    return "\n".join(out)


_LIST_GLUE = re.compile(
    r"[\s,/&;\-•*]*(?:(?:and|et|y|e|or|ou|o|u|as well as|ainsi que|así como|asi como|&)[\s,]+)?"
    r"(?:(?:the|le|la|les|l'|el|los|las|au|aux|en|in)\s+)?"
)


def countries_concerned(
    text: str,
    directory: CountryDirectory,
    *,
    requester_country: str | None = None,
) -> list[CountryMention]:
    """The countries ``text`` is about, best first (see :class:`CountryMention`).

    ``requester_country`` (a code or a name) is the requester's own country: it stays in the list,
    flagged ``is_requester_country``, so the caller can tell it from the country concerned.
    Countries named only in the salutation, the signature, the address block or quoted mail are
    left out.
    """
    if not text or not text.strip():
        return []
    text = text.replace("\r\n", " \n").replace("\r", "\n")
    index = _index(directory)
    frame = letter_frame(text)
    body = _mask(text, frame)
    folded = _fold(body)
    matches = [f for f in _raw_matches(text, folded, index)
               if f.entry.code is not None and not _rejected(text, folded, f, index)]
    if not matches:
        return []

    tallies: dict[str, _Tally] = {}
    previous: _Scored | None = None
    for f in matches:
        entry = f.entry
        tally = tallies.get(entry.code)
        if tally is not None and tally.count >= 3 and tally.strong:
            tally.count += 1  # a country already shown to matter: its further mentions are only counted
            previous = None
            continue
        if entry.code in ("CD", "CG") and entry.alternatives:
            entry = _congo(folded, entry)
        scored = _score(text, folded, f, entry, previous)
        previous = scored
        if tally is None:
            tally = tallies[entry.code] = _Tally(first=f.start)
        tally.add(scored, entry.alternatives)

    requester = _requester_code(directory, requester_country)
    ranked = sorted(tallies.items(), key=lambda item: (-item[1].total, item[0] == requester, item[1].first))
    out = []
    for rank, (code, tally) in enumerate(ranked, start=1):
        country = directory.by_code(code)
        reasons = tally.reasons + ([f"named {tally.count} times"] if tally.count > 1 else [])
        if code == requester:
            reasons.append("the requester's own country")
        out.append(CountryMention(
            code=code, name=country.name, region=country.region, rank=rank, score=tally.total,
            strong=tally.strong, evidence=tuple(tally.evidence[:5]), reasons=tuple(reasons),
            alternatives=tuple(sorted(tally.alternatives - {code})), is_requester_country=code == requester,
        ))
    return out


# --------------------------------------------------------------------------- scoring

#: A country's name counts 1, an adjective of nationality less ("Bangladeshi" may describe workers who moved).
_NAME_WEIGHT, _ADJECTIVE_WEIGHT = 1.0, 0.6
#: Added for a word of place before the name ("in", "au", "en el"), or a weaker link ("from", "de", "of").
_PLACE_BONUS, _LINK_BONUS = 2.0, 0.8
#: Added when a word of business or law stands within five words ("supplier", "usine", "ley").
_CUE_BONUS = 1.5
#: Added for each further mention of the same country, up to three.
_REPEAT_BONUS, _REPEATS_COUNTED = 0.3, 3


@dataclass(frozen=True)
class _Scored:
    """One mention weighed: its score, its link ("place", "link" or None), why, and the words shown."""

    end: int
    score: float
    link: str | None
    strong: bool
    reasons: tuple[str, ...]
    evidence: str
    link_evidence: str  # the words that gave the link, passed on down a list ("in Peru, Chile and Bolivia")


class _Tally:
    """Everything found for one country."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.count = 0
        self.best = 0.0
        self.strong = False
        self.evidence: list[str] = []
        self.reasons: list[str] = []
        self.alternatives: set[str] = set()

    def add(self, scored: _Scored, alternatives: tuple[str, ...]) -> None:
        self.count += 1
        self.best = max(self.best, scored.score)
        self.strong = self.strong or scored.strong
        if scored.evidence not in self.evidence:
            self.evidence.append(scored.evidence)
        self.reasons.extend(r for r in scored.reasons if r not in self.reasons)
        self.alternatives.update(alternatives)

    @property
    def total(self) -> float:
        return round(self.best + _REPEAT_BONUS * min(self.count - 1, _REPEATS_COUNTED), 2)


def _score(text: str, folded: str, f: _Found, entry: _Entry, previous: _Scored | None) -> _Scored:
    near, far, near_start, far_start = _adjacent_before(folded, f.start)
    reasons: list[str] = []
    score = _ADJECTIVE_WEIGHT if entry.adjective else _NAME_WEIGHT
    link, link_evidence = None, ""
    if entry.adjective:
        reasons.append("adjective")
    else:
        link_word, link_start = near, near_start
        if near in _ARTICLES and far is not None:
            link_word, link_start = far, far_start  # "en el Perú", "in the UK"
        if link_word in _PLACE_WORDS and (link_word != "a" or text[link_start:link_start + 1] in "àÀ"):
            link = "place"  # "a Chile" is Spanish for "to Chile", "à Madagascar" French for "in"
        elif link_word in _LINK_WORDS:
            link = "link"
        if link:
            words = " ".join(text[link_start:f.start].rstrip(" \t\n:-•*").split())  # "in", "en el", "de l'"
            name = " ".join(text[f.start:f.end].split())
            link_evidence = words + name if words.endswith(("'", "’")) else f"{words} {name}"
            reasons.append(f"{link} word '{words}'")
        elif previous is not None and previous.link and _LIST_GLUE.fullmatch(folded[previous.end:f.start]):
            link, link_evidence = previous.link, previous.link_evidence  # "in Peru, Chile and Bolivia"
            reasons.append(f"listed after '{link_evidence}'")
        if link:
            score += _PLACE_BONUS if link == "place" else _LINK_BONUS
    around = set(_words_before(folded, f.start)[-5:]) | set(_words_after(folded, f.end)[:5])
    cues = sorted(around & _CUES)
    if cues:
        score += _CUE_BONUS
        reasons.append(f"near '{cues[0]}'")
    if not link and not cues:
        reasons.append("named in passing")
    evidence = link_evidence if link and not reasons[0].startswith("listed") else " ".join(text[f.start:f.end].split())
    return _Scored(f.end, score, link, link == "place" or bool(cues), tuple(reasons), evidence, link_evidence)


def _requester_code(directory: CountryDirectory, value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return directory.resolve(value).code
    except UnknownCountryError:
        return None
