"""Country names as written in English, French and Spanish, and the folding that compares them.

:func:`fold` lowers a text, strips its accents and makes curly apostrophes and dashes plain,
keeping its length, so what is found in the folded text is found at the same place in the original.
:func:`name_index` gives a directory's :class:`NameIndex`: pycountry's English names and their French
and Spanish translations (from the :class:`~kb.regions.CountryDirectory`), ``kb.regions.ALIASES``, the
short forms and spellings below, the adjectives of nationality in their forms ("marocain",
"marocaines") and the phrases that hold a name but are no country ("New Mexico", "guinea pig"). Each
is a :class:`NameEntry` saying how it must be written to count (``ANY``, ``CAPITAL``, ``UPPER``,
``CAPITAL_LAST``) and whether it is also a person's name. Used by :mod:`kb.places`.

The index is built the first time it is needed (for each directory) and kept, each first word's
regex the first time that word is looked for; nothing is built at import time.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from dataclasses import dataclass

import pycountry

from kb.regions import ALIASES, CountryDirectory

__all__ = ["ANY", "CAPITAL", "CAPITAL_LAST", "UPPER", "WORD", "NameEntry", "NameIndex", "fold", "name_index"]


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


def fold(text: str) -> str:
    """Lower case, accents stripped, curly apostrophes and dashes made plain; same length as ``text``."""
    low = text.lower()
    if len(low) != len(text):  # "İ" lowers to two characters
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if low.isascii():
        return low
    return _NON_ASCII.sub(_fold_char, low)


WORD = re.compile(r"[^\W_]+")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(fold(text)))


# --------------------------------------------------------------------------- the name index

#: How a match must be written: any case, capitalised ("Turkey", not "turkey"), in capitals ("US"), or with
#: its last word capitalised ("La Réunion", not "la réunion", a meeting).
ANY, CAPITAL, UPPER, CAPITAL_LAST = "any", "capital", "upper", "capital last"


@dataclass(frozen=True)
class NameEntry:
    code: str | None  # None: a phrase that is no country ("New Mexico", "guinea pig") and hides one
    adjective: bool = False
    case: str = ANY
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
    "turkey": CAPITAL, "china": CAPITAL, "chile": CAPITAL, "chili": CAPITAL, "guinea": CAPITAL,
    "jersey": CAPITAL, "guernsey": CAPITAL, "chad": CAPITAL, "jordan": CAPITAL, "georgia": CAPITAL,
    "india": CAPITAL, "malta": CAPITAL, "japan": CAPITAL, "tonga": CAPITAL, "bermuda": CAPITAL,
    "america": CAPITAL, "wales": CAPITAL, "holland": CAPITAL, "panama": CAPITAL, "cuba": CAPITAL,
    "dominica": CAPITAL, "dominique": CAPITAL, "guadalupe": CAPITAL, "guadeloupe": CAPITAL,
    "martinique": CAPITAL, "maurice": CAPITAL, "israel": CAPITAL, "kenya": CAPITAL,
    "niger": CAPITAL, "mali": CAPITAL, "togo": CAPITAL, "salvador": CAPITAL, "polish": CAPITAL, "gales": CAPITAL,
    "chine": CAPITAL, "catar": CAPITAL, "grenade": CAPITAL, "hollande": CAPITAL, "la reunion": CAPITAL_LAST,
    "reunion island": CAPITAL, "ile de la reunion": CAPITAL_LAST,
    "us": UPPER, "u s": UPPER, "usa": UPPER, "eau": UPPER, "e a u": UPPER, "rdc": UPPER,
    "drc": UPPER, "rd congo": CAPITAL, "eua": UPPER, "fyrom": UPPER, "uae": ANY, "prc": UPPER,
    "ksa": UPPER, "dprk": UPPER, "rok": UPPER,
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


class NameIndex:
    """Country names, short forms and adjectives, by first word, each first word with one regex."""

    def __init__(self, directory: CountryDirectory) -> None:
        entries: dict[tuple[str, ...], NameEntry] = {}
        clashes: set[tuple[str, ...]] = set()

        def add(text: str, entry: NameEntry) -> None:
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
            entry = NameEntry(entry.code, entry.adjective, case, person, entry.needs_noun, entry.alternatives)
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
                    add(variant, NameEntry(code))
        for code, aliases in ALIASES.items():
            for alias in aliases:
                add(alias, NameEntry(code))
        for code, names in _EXTRA_NAMES.items():
            for name in names:
                add(name, NameEntry(code))
        for key in clashes:  # a name two countries share is looked at again below, or left out
            del entries[key]
        for name, codes in _AMBIGUOUS.items():
            entries[_tokens(name)] = NameEntry(codes[0], alternatives=codes[1:])
        for phrase in _NOT_COUNTRIES:
            key = _tokens(phrase)
            if phrase == "Isle of Man":
                entries[key] = NameEntry("IM")
            else:
                entries[key] = NameEntry(None)
        for code, *words in _ADJECTIVES:
            for language, word in zip(("en", "fr", "es"), words):
                if not word:
                    continue
                needs_noun = word.endswith("*")
                word = word.rstrip("*")
                for form in _adjective_forms(word, language):
                    key = _tokens(form)
                    if key and key not in entries:
                        case = CAPITAL if language == "en" and _CASE_RULES.get(key[0]) == CAPITAL else ANY
                        entries[key] = NameEntry(code, adjective=True, case=case, needs_noun=needs_noun)
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


_INDEXES: weakref.WeakKeyDictionary[CountryDirectory, NameIndex] = weakref.WeakKeyDictionary()


def name_index(directory: CountryDirectory) -> NameIndex:
    index = _INDEXES.get(directory)
    if index is None:
        index = _INDEXES[directory] = NameIndex(directory)
    return index
