"""Turn a query or a reply into an anonymised draft for the public Q&A bank.

When the specialist promotes an answered query, the text must not carry the
requester's name, company, phone number, the helpdesk reference or the
letter's frame (salutation, sign-off, signature). :func:`anonymise` strips all
of that and leaves the substance: what was asked and what the helpdesk said,
with convention numbers, ages, years, percentages and countries intact.

It is a draft, not a guarantee: the specialist reads and edits it before
publishing, and ``Anonymised.removed`` tells them what kinds of things were
taken out so they know where to look.

Works on English, French and Spanish letters. Pure function: standard library
plus ``classifier.text`` (to tell function words such as "May" or "Will" from
names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from classifier.text import content_words

__all__ = ["Anonymised", "anonymise", "DEFAULT_REFERENCE_PATTERN"]

DEFAULT_REFERENCE_PATTERN = r"\b[A-Z]{2,6}-\d{4}-\d{4,}\b"

#: Marks where something was removed; resolved (with the spaces around it) at the end.
_GAP = "\x00"


@dataclass(frozen=True)
class Anonymised:
    """The draft, and what was taken out of it, in the order found: "salutation",
    "closing and signature", "signature", "signature and quoted text", "pleasantry",
    "reference", "email address", "link", "phone number", "postal address",
    "organisation 'Acme Ltd'", "name 'Jürgen Weber'" (given) or "name 'Mr Smith'" (found after a title)."""

    text: str
    removed: tuple[str, ...] = ()


# --------------------------------------------------------------------------- letters

def _letters(predicate) -> str:
    chars = (chr(i) for i in range(0x41, 0x250))
    return "".join(c for c in chars if c.isalpha() and predicate(c)).replace("-", r"\-")


_UP = _letters(str.isupper)
_LOW = _letters(str.islower)
#: A capitalised word as written in a salutation or signature: ``Jürgen``, ``O'Brien``, ``Sr.``, ``Sir/Madam``.
_CAP = rf"[{_UP}][\w'’.\-]*(?:/[\w.]+)?"
#: A proper name after a title: capitalised, then lower-case letters (so ``HR`` or ``No`` are not names).
_PROPER = rf"(?:[{_UP}][{_LOW}]+(?:['’\-][{_UP}]?[{_LOW}]+)*|[{_UP}]['’][{_UP}][{_LOW}]+)"
_PARTICLE = r"(?:de|del|de\s+la|de\s+los|van|von|der|den|da|das|dos|di|du|le|la|bin|al|el)"

# --------------------------------------------------------------------------- salutation

_GREETING = r"""(?ix:
    dear | dearest | hello | hi | hey | greetings | good\s+(?:morning|afternoon|evening|day)
  | to\s+whom\s+it\s+may\s+concern
  | bonjour | bonsoir | salut | ch[eè]re?s? | madame,?\s*(?:(?:ou|et|/)\s*)?monsieur
  | monsieur,?\s*(?:(?:ou|et|/)\s*)?madame | mesdames,?\s*(?:et\s+)?messieurs | madame | monsieur
  | [àa]\s+qui\s+de\s+droit
  | estimad[oa]s?(?:/[oa]s?)? | querid[oa]s?(?:/[oa]s?)? | apreciad[oa]s?(?:/[oa]s?)? | distinguid[oa]s?(?:/[oa]s?)?
  | hola | buen[oa]s\s+(?:d[ií]as|tardes|noches) | a\s+quien\s+corresponda | muy\s+señor(?:es)?\s+m[ií]os?
  | señor(?:es|a|as|/a)?
)(?![\w/])"""
_FILLER = r"""(?ix:
    team | all | there | everyone | everybody | colleagues? | friends | sirs? | madam | or | and | / | &
  | helpdesk | support | mr\.? | mrs\.? | ms\.? | dr\.? | m\. | mme\.? | mlle\.? | sr\.? | sra\.? | srta\.?
  | et | ou | tous | toutes | l['’]?équipe | équipe | amis | monsieur | madame | mesdames | messieurs | mademoiselle
  | y | o | a | à | todos | todas | equipo | amigos | colegas | señor(?:es|a|as|/a)? | señorita | don | doña
  | the | el | la | le | les | los | las
)(?![\w/])"""
_SALUTATION_TOKENS = rf"^[ \t]*{_GREETING}(?:[ \t]+(?:{_FILLER}|{_CAP})){{0,6}}?"
_SALUTATION_LINE = re.compile(rf"{_SALUTATION_TOKENS}[ \t]*[,:;!.]*[ \t]*$")
_SALUTATION_PREFIX = re.compile(rf"{_SALUTATION_TOKENS}[ \t]*[,:!][ \t]+(?=\S)")

# --------------------------------------------------------------------------- closing

_CLOSING = r"""(?ix:
    (?:with\s+)?(?:(?:kind|best|warm|warmest|kindest|many|sincere|cordial)\s+)?regards
  | best(?:\s+wishes)? | all\s+the\s+best | (?:yours\s+)?(?:sincerely|faithfully|truly|respectfully)(?:\s+yours)?
  | (?:many\s+)?thanks(?:\s+(?:again|a\s+lot|in\s+advance))?
  | thank\s+you(?:\s+(?:again|very\s+much|so\s+much|in\s+advance))?
  | with\s+thanks | cheers | take\s+care
  | (?:bien\s+)?cordialement | bien\s+(?:à|a)\s+(?:vous|toi)
  | (?:(?:avec\s+)?(?:mes|nos)\s+)?(?:(?:meilleures|sinc[èe]res|cordiales)\s+)?salutations
    (?:\s+(?:distinguées|cordiales|respectueuses))?
  | amitiés | respectueusement | merci(?:\s+(?:d['’]avance|par\s+avance|beaucoup|encore))?
  | atentamente | cordialmente | (?:un\s+)?(?:cordial\s+|afectuoso\s+)?saludo | (?:muchos\s+)?saludos(?:\s+cordiales)?
  | un\s+abrazo | afectuosamente | (?:muchas\s+)?gracias(?:\s+(?:de\s+antemano|por\s+adelantado))?
)"""
_CLOSING_LINE = re.compile(
    rf"^[ \t]*{_CLOSING}[ \t]*[,.!…]*(?:[ \t]+(?:{_CAP})(?:[ \t]+{_CAP}){{0,4}}[ \t]*[,.]?)?[ \t]*$"
)
#: Formulas that open the end of a letter whatever follows them on the line.
_CLOSING_START = re.compile(r"""(?ix)^[ \t]*(?:
    veuillez\s+(?:agréer|agreer|recevoir|croire) | je\s+vous\s+prie\s+d['’e]\s*(?:agréer|agreer|recevoir|croire)
  | recevez,? | dans\s+l['’]attente\s+de | en\s+vous\s+remerciant
  | i\s+look\s+forward\s+to | looking\s+forward\s+to | we\s+look\s+forward\s+to
  | (?:many\s+)?thank(?:s|\s+you)\s+in\s+advance | thanking\s+you\s+in\s+advance
  | le\s+saluda\s+atentamente | reciba\s+un(?:\s+cordial)?\s+saludo | sin\s+otro\s+particular
  | quedo\s+(?:a\s+la\s+espera|atent[oa]|a\s+su\s+disposición) | en\s+espera\s+de\s+su\s+respuesta
  | agradeciendo\s+(?:de\s+antemano|su\s+atención) | (?:le\s+)?agradezco\s+de\s+antemano
)""")
#: Signature delimiters and quoted earlier messages: everything from here on goes.
_CUT_LINE = re.compile(r"""(?ix)^[ \t]*(?:
    --[ \t]* | _{3,}[ \t]* | -{3,}.*(?:original|d['’]origine|mensaje\s+original).*
  | (?:on|le|el)\s.{5,160}(?:wrote|a\s+écrit|escribió)[ \t]*:[ \t]*
  | sent\s+from\s+my\b.* | envoyé\s+de\s+mon\b.* | enviado\s+desde\s+mi\b.* | get\s+outlook\s+for\b.*
)$""")

# --------------------------------------------------------------------------- pleasantries

_PLEASANTRY = re.compile(r"""(?imx)
  (?:^|(?<=[.!?])|(?<=[.!?][ \t])|(?<=[.!?][ \t]{2}))[ \t]*
  (?:
    thank\s+you\s+(?:very\s+much\s+|so\s+much\s+)?for\s+(?:contacting|reaching\s+out|getting\s+in\s+touch|writing|
        your\s+(?:e-?mail|message|query|enquiry|inquiry|question|request|letter|interest))
  | thanks\s+for\s+(?:contacting|reaching\s+out|getting\s+in\s+touch|
        your\s+(?:e-?mail|message|query|enquiry|inquiry|question))
  | (?:i|we)\s+hope\s+(?:this|you|all)\b[^.!?\n]{0,40}\b(?:well|fine|good\s+health)
  | hope\s+you\s+are\s+(?:well|doing\s+well)
  | we\s+would\s+welcome\s+your\s+feedback
  | your\s+feedback\s+(?:on\s+this\s+reply\s+)?(?:is|would\s+be)\s+(?:most\s+)?welcome
  | (?:please\s+)?do\s+not\s+hesitate\s+to\s+contact | (?:please\s+)?feel\s+free\s+to\s+contact
  | nous\s+vous\s+remercions\s+(?:d['’]avoir\s+contacté|pour\s+votre|
        de\s+votre\s+(?:message|courriel|demande|question|intérêt))
  | merci\s+(?:beaucoup\s+)?(?:pour|de)\s+votre\s+(?:message|courriel|e-?mail|demande|question)
  | j['’]espère\s+que\s+vous\s+(?:allez|vous\s+portez)\s+bien
  | vos\s+commentaires\s+sur\s+cette\s+réponse | n['’]hésitez\s+pas\s+à\s+(?:nous|me)\s+contacter
  | gracias\s+por\s+(?:contactar|ponerse\s+en\s+contacto|escribir|
        su\s+(?:consulta|mensaje|correo|pregunta|solicitud))
  | muchas\s+gracias\s+por\s+su\s+(?:consulta|mensaje|correo|pregunta)
  | espero\s+que\s+(?:se\s+encuentre|esté|este)\s+bien
  | le\s+agradecer[ií]amos\s+sus\s+comentarios | no\s+dude\s+en\s+(?:contactarnos|ponerse\s+en\s+contacto)
  )
  # ...to the end of the sentence; "No. 138", "Art. 3" and "e.g." do not end it.
  (?:[^.!?\n] | (?:(?<=\bNo)|(?<=\bNos)|(?<=\bno)|(?<=\bArt)|(?<=\bart)|(?<=\bMr)|(?<=\bDr)|(?<=\bSr))\. | \.(?=\w))*
  [.!?]*
""")

# --------------------------------------------------------------------------- contact details

_EMAIL = re.compile(r"(?i)(?:mailto:)?(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+")
_BARE_DOMAIN = re.compile(
    r"(?i)(?<![\w@.\-])[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9\-]+)*"
    r"\.(?:com|org|net|int|gov|edu|info|biz|io|eu|co\.uk|org\.uk|uk|de|fr|es|ch|it|nl|be|gh|ke|ng|za|mx|ar|cl|pe|br|pt|"
    r"bd|vn|kh|pk|lk|ma|tn|sn|ci|cm)\b(?:/[^\s<>\"'()]*)?"
)
_TRAILING_PUNCT = re.compile(r"[.,;:!?]+$")

_PHONE_CANDIDATE = re.compile(r"(?<![\w+\-.(/])(?:\+[ \t]?)?\(?\d[\d \t().\-]*\d")
_PHONE_LABEL = re.compile(r"""(?ix)(?:
    \b(?:tel|tél|telephone|téléphone|tel[eé]fono|phone|ph|mobile|mob|m[oó]vil|cell(?:phone)?|portable|fax|
        whatsapp|gsm|hotline|call(?:\s+(?:me|us))?(?:\s+(?:on|at))?|appelez(?:-(?:moi|nous))?(?:\s+au)?|
        ll[aá]me(?:nos|me)?(?:\s+al)?)
  | \b[tmf]
)\.?[ \t]*(?:\([\w ]+\))?[ \t]*[:.]?[ \t]*$""")
_DATE = re.compile(
    r"\b(?:\d{1,2}[.\-]\d{1,2}[.\-](?:\d{4}|\d{2})|\d{4}[.\-]\d{1,2}[.\-]\d{1,2}"
    r"|(?:19|20)\d{2}[ \t]*[\-–][ \t]*(?:19|20)?\d{2})\b"
)
_THOUSANDS = re.compile(r"\d{1,3}(?:[ .]\d{3})+")

# --------------------------------------------------------------------------- postal addresses

_W = r"[\w'’\-]*"
_EN_STREET = (
    rf"\b\d{{1,5}}[A-Za-z]?,?[ \t]+(?:[{_UP}]{_W}[ \t]+){{1,4}}"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Place|Square|Sq|Close|Crescent|Terrace|"
    r"Highway|Hwy|Parkway|Gardens|Mews|Quay|Wharf)\b\.?"
)
_FR_PARTICLE = r"(?:de|du|des|la|le|les|l['’]|d['’]|aux?|à)"
_FR_STREET = (
    rf"\b\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    r"(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|passage|square|faubourg)"
    rf"[ \t]+(?:{_FR_PARTICLE}[ \t]*)*[{_UP}]{_W}(?:[ \t\-]+(?:{_FR_PARTICLE}[ \t]*)*[{_UP}]{_W})*"
)
_ES_PARTICLE = r"(?:de|del|la|las|los|el|y)"
_ES_STREET = (
    r"(?:\b(?i:calle|avenida|avda\.?|paseo|plaza|pza\.|carrera|cra\.|camino|carretera|ronda|travesía|calzada|bulevar)"
    r"[ \t]+|\b[Cc]/[ \t]?)"
    rf"(?:{_ES_PARTICLE}[ \t]+)*[{_UP}]{_W}(?:[ \t]+(?:{_ES_PARTICLE}[ \t]+)*[{_UP}]{_W}){{0,4}},?[ \t]*"
    r"(?:(?i:n[º°o]\.?|núm\.?|número)[ \t]*)?\d{1,5}[A-Za-z]?\b"
)
_PO_BOX = (
    r"(?:\b(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]+office[ \t]+box|boîte[ \t]+postale|apdo\.|"
    r"apartado[ \t]+(?:de[ \t]+correos|postal)|casilla[ \t]+(?:postal|de[ \t]+correos?))|\bB\.[ \t]?P\.)"
    r"[ \t]*(?:No\.?|n[º°o]\.?)?[ \t]*\d+"
)
_UK_POSTCODE = r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b"
#: "..., 75002 Paris" right after a street belongs to the address.
_THEN_POSTCODE = rf"(?:,?[ \t]+(?:[A-Z]{{1,2}}-)?\d{{4,5}}[ \t]+[{_UP}]{_W}(?:[ \t\-]+[{_UP}]{_W}){{0,2}})?"
_ADDRESS = re.compile("|".join(
    [f"(?:{p}){_THEN_POSTCODE}" for p in (_EN_STREET, _FR_STREET, _ES_STREET, _PO_BOX)] + [f"(?:{_UK_POSTCODE})"]
))
_POSTCODE_CITY_LINE = re.compile(
    rf"^[ \t]*(?:[A-Z]{{1,2}}[ \t]?-[ \t]?)?(?!(?:19|20)\d{{2}}\b)\d{{4,5}}[ \t]+[{_UP}]{_W}"
    rf"(?:[ \t\-]+(?:[{_UP}(]{_W}\)?|\d{{1,3}})){{0,3}}(?:,[ \t]*[{_UP}][\w'’ \-]*)?[ \t]*$"
)
_LOWER_WORD = re.compile(rf"(?<![\w\[])[{_LOW}]{{3,}}")

# --------------------------------------------------------------------------- names and organisations

_TITLE_ANY_CASE = (
    r"(?:(?:mr|mrs|ms|mx|dr|prof|mme|mlle|sr|sra|srta|dña)\.?|m\.|don|doña|monsieur|madame|mademoiselle|"
    r"señor|señora|señorita|herr|frau|miss)"
)
_TITLED_NAME = re.compile(
    r"\b(?:(?:Mr|Mrs|Ms|Mx|Dr|Prof|Mme|Mlle|Sr|Sra|Srta|Dña)\.?|(?<!\w)M\.|Don|Doña|Monsieur|Madame|Mademoiselle|"
    r"Señor|Señora|Señorita|Herr|Frau|Miss)"
    rf"[ \t]+{_PROPER}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_PROPER}){{0,2}}"
)
_NAME_PARTICLES = {
    "de", "del", "della", "der", "den", "van", "von", "da", "das", "dos", "di", "du", "le", "la", "las", "los",
    "y", "bin", "ibn", "al", "el", "ben", "mac", "st",
}
_ORG_SUFFIX = (
    r"(?-i:Ltd\.?|Limited|LLC|L\.L\.C\.|Inc\.?|Incorporated|Corp\.?|Corporation|PLC|Plc|plc|GmbH|AG|KG|"
    r"S\.A\.S\.?|SAS|S\.A\.R\.L\.?|SARL|S\.A\.|SA|S\.L\.|SL|S\.R\.L\.|SRL|S\.p\.A\.|SpA|B\.V\.|BV|N\.V\.|NV|"
    r"Pty(?:[ \t]+Ltd\.?)?|Sdn\.?[ \t]+Bhd\.?|Ltda\.?|Co\.|& Co\.?|Company|Oy|AB|A/S)"
)
_ORG_SUFFIX_AT_END = re.compile(rf"(?:,?\s+{_ORG_SUFFIX})+\s*$")


def _flexible(word: str) -> str:
    """``word`` as a regex where an accented letter also matches its plain form (``Jürgen`` ~ ``Jurgen``)."""
    out = []
    for ch in word:
        plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if plain and plain != ch and len(plain) == 1:
            out.append(f"[{re.escape(ch)}{re.escape(plain)}]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _phrase(text: str) -> str:
    return r"\s+".join(_flexible(w) for w in text.split())


def _name_part(part: str, *, whole: bool) -> str:
    """A name to match case-insensitively; a part that is also a function word ("May", "Will")
    matches only when capitalised, so "may" and "will" in the text survive."""
    if whole or content_words(part) or not part[:1].isalpha():
        return _phrase(part)
    return f"(?-i:{re.escape(part[0].upper())}){_flexible(part[1:])}"


# --------------------------------------------------------------------------- the pass


class _Pass:
    """One anonymisation run: the text being rewritten and the kinds removed so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.removed: list[str] = []

    def note(self, kind: str) -> None:
        if kind not in self.removed:
            self.removed.append(kind)

    def sub(self, pattern: re.Pattern[str] | str, repl, kind: str | None) -> int:
        """Apply ``pattern``; ``kind`` is noted if anything actually changed."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        changed = 0

        def replace(m: re.Match[str]) -> str:
            nonlocal changed
            out = repl(m) if callable(repl) else repl
            if out != m.group(0):
                changed += 1
            return out

        self.text = rx.sub(replace, self.text)
        if changed and kind:
            self.note(kind)
        return changed


def _strip_salutation(p: _Pass) -> None:
    lines = p.text.split("\n")
    for _ in range(2):  # "Hello,\nDear Sir or Madam," happens
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return
        if _SALUTATION_LINE.match(lines[first]):
            del lines[first]
        else:
            m = _SALUTATION_PREFIX.match(lines[first])
            if not m:
                break
            rest = lines[first][m.end():]
            lines[first] = rest[:1].upper() + rest[1:]
        p.note("salutation")
    p.text = "\n".join(lines)


def _strip_closing(p: _Pass) -> None:
    lines = p.text.split("\n")
    content = [i for i, line in enumerate(lines) if line.strip()]
    for i in content[1:]:  # the first line of content is never the sign-off
        line = lines[i]
        if _CUT_LINE.match(line):
            p.note("signature and quoted text")
        elif _CLOSING_LINE.match(line) or _CLOSING_START.match(line):
            p.note("closing and signature")
        else:
            continue
        p.text = "\n".join(lines[:i])
        return


def _strip_references(p: _Pass, references: Iterable[str], pattern: str) -> None:
    alternatives = [f"(?:{pattern})"] if pattern else []
    literal = sorted({r.strip() for r in references if r and r.strip()}, key=len, reverse=True)
    alternatives += [rf"(?<![\w\-]){re.escape(r)}(?![\w])" for r in literal]
    if not alternatives:
        return
    ref = f"(?:{'|'.join(alternatives)})"
    number = r"(?:no\.?|number|n[°º]\.?|numéro|número|núm\.?)"
    label = (
        r"(?i:(?:(?:our|your|votre|notre|su|nuestra|vuestra)[ \t]+)?"
        rf"(?:(?:reference|ref\.?|référence|réf\.?|referencia)(?:[ \t]+{number})?[ \t]*[:#]?"
        rf"|(?:ticket|case|query|request|dossier|demande|expediente|consulta)[ \t]*(?:{number}|[:#]))[ \t]*)"
    )
    p.sub(rf"[ \t]*[(\[][ \t]*(?:{label})?{ref}[ \t]*[)\]]", _GAP, "reference")
    p.sub(rf"(?:{label})?{ref}", _GAP, "reference")


def _strip_pleasantries(p: _Pass) -> None:
    p.sub(_PLEASANTRY, _GAP, "pleasantry")


def _replace_links(p: _Pass) -> None:
    p.sub(_EMAIL, "[email]", "email address")

    def link(m: re.Match[str]) -> str:
        trailing = _TRAILING_PUNCT.search(m.group(0))
        return "[link]" + (trailing.group(0) if trailing else "")

    p.sub(_URL, link, "link")
    p.sub(_BARE_DOMAIN, link, "link")


def _is_phone(candidate: str, before: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15:
        return False
    international = candidate.startswith("+") or (candidate.startswith("00") and not candidate.startswith("000"))
    if re.fullmatch(r"0\d(?:[ .\-]\d{2}){4}", candidate):
        return True  # 06.12.34.56.78: French style, before it looks like a date
    if _DATE.search(candidate) and not international:
        return False
    if international or re.match(r"\(\+?\d{1,5}\)", candidate) or _PHONE_LABEL.search(before):
        return True
    if candidate.startswith("0") and digits >= 9:
        return True
    if _THOUSANDS.fullmatch(candidate):
        return False  # 1 500 000 or 1.500.000: an amount
    groups = re.split(r"[ \t().\-]+", candidate)
    return digits >= 10 or (digits >= 9 and len(groups) >= 3)


def _replace_phones(p: _Pass) -> None:
    def phone(m: re.Match[str]) -> str:
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        return "[phone]" if _is_phone(m.group(0), m.string[line_start:m.start()]) else m.group(0)

    p.sub(_PHONE_CANDIDATE, phone, "phone number")


def _replace_addresses(p: _Pass) -> None:
    lines = p.text.split("\n")
    found = False
    for i, line in enumerate(lines):
        if _POSTCODE_CITY_LINE.match(line):
            lines[i], found = "[address]", True
            continue
        spans = _ADDRESS.sub(_GAP, line)
        if spans == line:
            continue
        found = True
        rest = spans.replace(_GAP, "")
        # "12 Harbour Road, Tema, Ghana" is all address; "our site at 12 Harbour Road" is a sentence.
        lines[i] = "[address]" if not _LOWER_WORD.search(rest) else spans.replace(_GAP, "[address]")
    if found:
        p.note("postal address")
        p.text = re.sub(r"\[address\](?:[ \t]*\n[ \t]*\[address\])+", "[address]", "\n".join(lines))


def _replace_organisations(p: _Pass, organisations: Iterable[str]) -> None:
    cores: dict[str, str] = {}
    for org in organisations:
        org = (org or "").strip()
        core = _ORG_SUFFIX_AT_END.sub("", org).strip(" ,") or org
        if len(core) >= 2:
            cores.setdefault(core, org)
    for core in sorted(cores, key=len, reverse=True):
        rx = re.compile(rf"(?<![\w\[]){_phrase(core)}(?:,?[ \t]+{_ORG_SUFFIX})*(?![\w])", re.IGNORECASE)

        def organisation(m: re.Match[str]) -> str:
            after = m.string[m.end():].lstrip(" \t")
            # "... at Acme Ltd." ends a sentence: keep the full stop the suffix swallowed.
            if m.group(0).endswith(".") and (not after or after[0] == "\n" or after[0].isupper()):
                return "[organisation]."
            return "[organisation]"

        p.sub(rx, organisation, f"organisation '{cores[core]}'")


def _name_or_word(m: re.Match[str]) -> str:
    """``[name]``, unless the match is a function word opening a sentence ("May we...", "Will it...")."""
    if " " not in m.group(0) and not content_words(m.group(0)):
        before = m.string[:m.start()].rstrip(" \t")
        if not before or before[-1] in "\n.!?:;\"'“«¿¡(":
            return m.group(0)
    return "[name]"


def _replace_names(p: _Pass, names: Iterable[str]) -> None:
    title = rf"(?:{_TITLE_ANY_CASE}[ \t]+)?"
    given = {n.strip() for n in names if n and len(n.strip()) >= 2}
    for name in sorted(given, key=len, reverse=True):
        words = name.split()
        variants = {name}
        # "de la Cruz" as in "Sra. de la Cruz"
        variants.update(" ".join(words[i:]) for i in range(1, len(words)) if words[i].casefold() in _NAME_PARTICLES)
        for word in words:
            variants.update(part for part in re.split(r"-", word) + [word]
                            if sum(ch.isalpha() for ch in part) >= 3 and part.casefold() not in _NAME_PARTICLES)
        alternation = "|".join(_name_part(v, whole=(v == name)) for v in sorted(variants, key=len, reverse=True))
        rx = re.compile(rf"(?<![\w\[]){title}(?:{alternation})(?![\w])", re.IGNORECASE)
        p.sub(rx, _name_or_word, f"name '{name}'")

    def titled(m: re.Match[str]) -> str:
        p.note(f"name '{m.group(0)}'")
        return "[name]"

    p.sub(_TITLED_NAME, titled, None)
    p.text = re.sub(r"\[name\](?:[ \t]+\[name\])+", "[name]", p.text)


#: Links are left alone: a last line pointing to an ILO page is substance, not a signature.
_CONTACT_LINE = re.compile(r"\[(?:phone|email|address)\]|^\W*\[(?:name|organisation)\]\W*$")


def _strip_bare_signature(p: _Pass) -> None:
    """A last paragraph of short lines with contact details is a signature, even without "Regards"."""
    body = p.text.rstrip()
    head, sep, last = body.rpartition("\n\n")
    if not sep or not head.strip():
        return
    lines = [line for line in last.split("\n") if line.strip() and line.strip() != _GAP]
    if not 1 <= len(lines) <= 8:
        return
    short = all(len(line) <= 80 and len(line.split()) <= 8 and not re.search(r"[.?!:;]\s*$", line) for line in lines)
    if short and any(_CONTACT_LINE.search(line.strip()) for line in lines):
        p.text = head
        p.note("signature")


def _close_gaps(text: str) -> str:
    """Resolve the removal marks: no dangling brackets, spaces or punctuation-only lines."""
    text = re.sub(rf"[ \t]*[(\[][ \t]*(?:{_GAP}[ \t]*)+[)\]]", _GAP, text)
    out = []
    for line in text.split("\n"):
        if _GAP not in line:
            out.append(line)
            continue
        opened_with_gap = line.lstrip(" \t").startswith(_GAP)

        def join(m: re.Match[str]) -> str:
            before = m.string[m.start() - 1] if m.start() > 0 else ""
            after = m.string[m.end()] if m.end() < len(m.string) else ""
            if not before or not after or after in ",.;:!?)]" or before in "([":
                return ""
            return " "

        line = re.sub(rf"[ \t]*{_GAP}(?:[ \t]*{_GAP})*[ \t]*", join, line).rstrip()
        line = re.sub(r"^([ \t]*)[,;:][ \t]*", r"\1", line)  # "(ref), we reply" lost its opening words
        if not re.search(r"\w", line):
            line = ""
        elif opened_with_gap:  # "Ticket no. 12: the answer..." -> "The answer..."
            line = re.sub(r"^([ \t]*)(\w)", lambda m: m.group(1) + m.group(2).upper(), line, count=1)
        out.append(line)
    return "\n".join(out)


def anonymise(
    text: str,
    *,
    names: Iterable[str] = (),
    organisations: Iterable[str] = (),
    references: Iterable[str] = (),
    reference_pattern: str = DEFAULT_REFERENCE_PATTERN,
) -> Anonymised:
    """An anonymised draft of a query or reply, and the kinds of things removed from it.

    Removes the salutation, the sign-off and everything after it, helpdesk
    references (``reference_pattern`` and any of ``references``) with the words
    around them, and courtesy sentences ("Thank you for contacting ..."). Replaces
    e-mail addresses, links, phone numbers, postal addresses, the given
    ``organisations`` and ``names`` (and any name after a title such as Mr or
    Sra.) with ``[email]``, ``[link]``, ``[phone]``, ``[address]``,
    ``[organisation]`` and ``[name]``.
    """
    p = _Pass((text or "").replace("\r\n", "\n").replace("\r", "\n").replace(_GAP, ""))
    _strip_salutation(p)
    _strip_closing(p)
    _strip_references(p, references, reference_pattern)
    _strip_pleasantries(p)
    _replace_links(p)
    _replace_phones(p)
    _replace_addresses(p)
    _replace_organisations(p, organisations)
    _replace_names(p, names)
    _strip_bare_signature(p)
    result = _close_gaps(p.text)
    result = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", result).strip()
    return Anonymised(result, tuple(p.removed))
