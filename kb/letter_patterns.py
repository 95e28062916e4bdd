"""What the frame and the personal details of an English, French or Spanish letter look like.

Compiled regular expressions, and the regex fragments and vocabulary they are
built from, for the parts of a helpdesk query or reply that :mod:`kb.anonymise`
removes or replaces: salutations, closings and signatures, courtesy sentences,
helpdesk reference labels, e-mail addresses, links, phone numbers, postal
addresses, titles before names, surname particles and company-form suffixes.

Patterns only, no logic: the passes that apply them live in :mod:`kb.anonymise`.
Standard library only.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- letters
# Character classes and words shared by the patterns below: the upper- and lower-case letters of
# Latin-script names (accented ones included), a capitalised word, a proper name, a surname particle.

def _letters(predicate) -> str:
    """The letters up to U+024F for which ``predicate`` holds, escaped for a ``[...]`` class."""
    chars = (chr(i) for i in range(0x41, 0x250))
    return "".join(c for c in chars if c.isalpha() and predicate(c)).replace("-", r"\-")


#: Upper- and lower-case letters for ``[...]`` classes: A-Z and a-z plus the Latin-1 and Latin Extended ones.
UPPER = _letters(str.isupper)
LOWER = _letters(str.islower)
#: A capitalised word as written in a salutation or signature: ``Jürgen``, ``O'Brien``, ``Sr.``, ``Sir/Madam``.
CAP_WORD = rf"[{UPPER}][\w'’.\-]*(?:/[\w.]+)?"
#: A proper name after a title: capitalised, then lower-case letters (so ``HR`` or ``No`` are not names).
PROPER_NAME = rf"(?:[{UPPER}][{LOWER}]+(?:['’\-][{UPPER}]?[{LOWER}]+)*|[{UPPER}]['’][{UPPER}][{LOWER}]+)"
#: A particle between a titled name's parts: ``Sra. Gómez de la Cruz``, ``Dr van Dijk``.
SURNAME_PARTICLE = r"(?:de|del|de\s+la|de\s+los|van|von|der|den|da|das|dos|di|du|le|la|bin|al|el)"

# --------------------------------------------------------------------------- salutation
# The opening of a letter: a greeting ("Dear", "Bonjour", "Estimada"), up to six filler words or
# capitalised names ("Sir or Madam", "Mr Smith", "equipo"), then punctuation; as a whole line or
# as the start of the first line of text.

GREETING = r"""(?ix:
    dear | dearest | hello | hi | hey | greetings | good\s+(?:morning|afternoon|evening|day)
  | to\s+whom\s+it\s+may\s+concern
  | bonjour | bonsoir | salut | ch[eè]re?s? | madame,?\s*(?:(?:ou|et|/)\s*)?monsieur
  | monsieur,?\s*(?:(?:ou|et|/)\s*)?madame | mesdames,?\s*(?:et\s+)?messieurs | madame | monsieur
  | [àa]\s+qui\s+de\s+droit
  | estimad[oa]s?(?:/[oa]s?)? | querid[oa]s?(?:/[oa]s?)? | apreciad[oa]s?(?:/[oa]s?)? | distinguid[oa]s?(?:/[oa]s?)?
  | hola | buen[oa]s\s+(?:d[ií]as|tardes|noches) | a\s+quien\s+corresponda | muy\s+señor(?:es)?\s+m[ií]os?
  | señor(?:es|a|as|/a)?
)(?![\w/])"""
SALUTATION_FILLER = r"""(?ix:
    team | all | there | everyone | everybody | colleagues? | friends | sirs? | madam | or | and | / | &
  | helpdesk | support | mr\.? | mrs\.? | ms\.? | dr\.? | m\. | mme\.? | mlle\.? | sr\.? | sra\.? | srta\.?
  | et | ou | tous | toutes | l['’]?équipe | équipe | amis | monsieur | madame | mesdames | messieurs | mademoiselle
  | y | o | a | à | todos | todas | equipo | amigos | colegas | señor(?:es|a|as|/a)? | señorita | don | doña
  | the | el | la | le | les | los | las
)(?![\w/])"""
SALUTATION_TOKENS = rf"^[ \t]*{GREETING}(?:[ \t]+(?:{SALUTATION_FILLER}|{CAP_WORD})){{0,6}}?"
#: A line that is only a salutation: ``Dear Ms Smith,``.
SALUTATION_LINE = re.compile(rf"{SALUTATION_TOKENS}[ \t]*[,:;!.]*[ \t]*$")
#: A salutation opening a line that goes on: ``Hello team, we need...``.
SALUTATION_PREFIX = re.compile(rf"{SALUTATION_TOKENS}[ \t]*[,:!][ \t]+(?=\S)")

# --------------------------------------------------------------------------- closing
# The end of a letter: a sign-off ("Kind regards", "Cordialement", "Atentamente"), optionally
# followed by a name on the same line; formal closing formulas; signature delimiters and quoted mail.

CLOSING = r"""(?ix:
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
#: A line that is only a sign-off, perhaps with the signer's name: ``Best regards, Jane Doe``.
CLOSING_LINE = re.compile(
    rf"^[ \t]*{CLOSING}[ \t]*[,.!…]*(?:[ \t]+(?:{CAP_WORD})(?:[ \t]+{CAP_WORD}){{0,4}}[ \t]*[,.]?)?[ \t]*$"
)
#: Formulas that open the end of a letter whatever follows them on the line.
CLOSING_START = re.compile(r"""(?ix)^[ \t]*(?:
    veuillez\s+(?:agréer|agreer|recevoir|croire) | je\s+vous\s+prie\s+d['’e]\s*(?:agréer|agreer|recevoir|croire)
  | recevez,? | dans\s+l['’]attente\s+de | en\s+vous\s+remerciant
  | i\s+look\s+forward\s+to | looking\s+forward\s+to | we\s+look\s+forward\s+to
  | (?:many\s+)?thank(?:s|\s+you)\s+in\s+advance | thanking\s+you\s+in\s+advance
  | le\s+saluda\s+atentamente | reciba\s+un(?:\s+cordial)?\s+saludo | sin\s+otro\s+particular
  | quedo\s+(?:a\s+la\s+espera|atent[oa]|a\s+su\s+disposición) | en\s+espera\s+de\s+su\s+respuesta
  | agradeciendo\s+(?:de\s+antemano|su\s+atención) | (?:le\s+)?agradezco\s+de\s+antemano
)""")
#: Signature delimiters and quoted earlier messages: everything from here on goes.
CUT_LINE = re.compile(r"""(?ix)^[ \t]*(?:
    --[ \t]* | _{3,}[ \t]* | -{3,}.*(?:original|d['’]origine|mensaje\s+original).*
  | (?:on|le|el)\s.{5,160}(?:wrote|a\s+écrit|escribió)[ \t]*:[ \t]*
  | sent\s+from\s+my\b.* | envoyé\s+de\s+mon\b.* | enviado\s+desde\s+mi\b.* | get\s+outlook\s+for\b.*
)$""")

# --------------------------------------------------------------------------- pleasantries
# Courtesy sentences that carry no substance ("Thank you for contacting...", "J'espère que vous
# allez bien", "No dude en contactarnos"), from their start to the end of the sentence.

PLEASANTRY = re.compile(r"""(?imx)
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

# --------------------------------------------------------------------------- references
# The words around a helpdesk reference: "our ref.", "ticket no.", "votre référence", "expediente núm.".

REFERENCE_NUMBER_WORD = r"(?:no\.?|number|n[°º]\.?|numéro|número|núm\.?)"
REFERENCE_LABEL = (
    r"(?i:(?:(?:our|your|votre|notre|su|nuestra|vuestra)[ \t]+)?"
    rf"(?:(?:reference|ref\.?|référence|réf\.?|referencia)(?:[ \t]+{REFERENCE_NUMBER_WORD})?[ \t]*[:#]?"
    rf"|(?:ticket|case|query|request|dossier|demande|expediente|consulta)[ \t]*(?:{REFERENCE_NUMBER_WORD}|[:#]))[ \t]*)"
)

# --------------------------------------------------------------------------- contact details
# E-mail addresses, links (with a scheme, ``www.`` or a bare domain on a known top-level domain)
# and the punctuation that ends a sentence after a link.

EMAIL = re.compile(r"(?i)(?:mailto:)?(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]]+")
BARE_DOMAIN = re.compile(
    r"(?i)(?<![\w@.\-])[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9\-]+)*"
    r"\.(?:com|org|net|int|gov|edu|info|biz|io|eu|co\.uk|org\.uk|uk|de|fr|es|ch|it|nl|be|gh|ke|ng|za|mx|ar|cl|pe|br|pt|"
    r"bd|vn|kh|pk|lk|ma|tn|sn|ci|cm)\b(?:/[^\s<>\"'()]*)?"
)
TRAILING_PUNCT = re.compile(r"[.,;:!?]+$")

# Phone numbers: a run of digits, spaces, dots, dashes and brackets that may be one; the label
# before it on the line ("Tel:", "Tél.", "Móvil"); the shapes that make a run a phone number
# (French ``06.12.34.56.78``, a ``(+44)`` dialling code) or not (dates and year ranges, amounts
# such as ``1 500 000``); and the separators between its groups of digits.
PHONE_CANDIDATE = re.compile(r"(?<![\w+\-.(/])(?:\+[ \t]?)?\(?\d[\d \t().\-]*\d")
PHONE_LABEL = re.compile(r"""(?ix)(?:
    \b(?:tel|tél|telephone|téléphone|tel[eé]fono|phone|ph|mobile|mob|m[oó]vil|cell(?:phone)?|portable|fax|
        whatsapp|gsm|hotline|call(?:\s+(?:me|us))?(?:\s+(?:on|at))?|appelez(?:-(?:moi|nous))?(?:\s+au)?|
        ll[aá]me(?:nos|me)?(?:\s+al)?)
  | \b[tmf]
)\.?[ \t]*(?:\([\w ]+\))?[ \t]*[:.]?[ \t]*$""")
DATE = re.compile(
    r"\b(?:\d{1,2}[.\-]\d{1,2}[.\-](?:\d{4}|\d{2})|\d{4}[.\-]\d{1,2}[.\-]\d{1,2}"
    r"|(?:19|20)\d{2}[ \t]*[\-–][ \t]*(?:19|20)?\d{2})\b"
)
THOUSANDS = re.compile(r"\d{1,3}(?:[ .]\d{3})+")
FRENCH_PHONE = re.compile(r"0\d(?:[ .\-]\d{2}){4}")
DIALLING_CODE = re.compile(r"\(\+?\d{1,5}\)")
PHONE_SEPARATORS = re.compile(r"[ \t().\-]+")

# --------------------------------------------------------------------------- postal addresses
# Street addresses (English "12 Harbour Road", French "3 bis rue de la Paix", Spanish "Calle Mayor 5")
# and PO boxes (P.O. Box, B.P., Apdo.), each perhaps followed by "75002 Paris"; UK postcodes; a line that
# is only a postcode and a city; a lower-case word (one left beside an address means it is in a sentence).

#: The rest of a street or city name's word after its capital: ``Harbour``, ``O'Connell``, ``Saint-Denis``.
WORD_TAIL = r"[\w'’\-]*"
EN_STREET = (
    rf"\b\d{{1,5}}[A-Za-z]?,?[ \t]+(?:[{UPPER}]{WORD_TAIL}[ \t]+){{1,4}}"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Place|Square|Sq|Close|Crescent|Terrace|"
    r"Highway|Hwy|Parkway|Gardens|Mews|Quay|Wharf)\b\.?"
)
FR_PARTICLE = r"(?:de|du|des|la|le|les|l['’]|d['’]|aux?|à)"
FR_STREET = (
    rf"\b\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+"
    r"(?i:rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours|passage|square|faubourg)"
    rf"[ \t]+(?:{FR_PARTICLE}[ \t]*)*[{UPPER}]{WORD_TAIL}(?:[ \t\-]+(?:{FR_PARTICLE}[ \t]*)*[{UPPER}]{WORD_TAIL})*"
)
ES_PARTICLE = r"(?:de|del|la|las|los|el|y)"
ES_STREET = (
    r"(?:\b(?i:calle|avenida|avda\.?|paseo|plaza|pza\.|carrera|cra\.|camino|carretera|ronda|travesía|calzada|bulevar)"
    r"[ \t]+|\b[Cc]/[ \t]?)"
    rf"(?:{ES_PARTICLE}[ \t]+)*[{UPPER}]{WORD_TAIL}"
    rf"(?:[ \t]+(?:{ES_PARTICLE}[ \t]+)*[{UPPER}]{WORD_TAIL}){{0,4}},?[ \t]*"
    r"(?:(?i:n[º°o]\.?|núm\.?|número)[ \t]*)?\d{1,5}[A-Za-z]?\b"
)
PO_BOX = (
    r"(?:\b(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]+office[ \t]+box|boîte[ \t]+postale|apdo\.|"
    r"apartado[ \t]+(?:de[ \t]+correos|postal)|casilla[ \t]+(?:postal|de[ \t]+correos?))|\bB\.[ \t]?P\.)"
    r"[ \t]*(?:No\.?|n[º°o]\.?)?[ \t]*\d+"
)
UK_POSTCODE = r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b"
#: "..., 75002 Paris" right after a street belongs to the address.
THEN_POSTCODE = (
    rf"(?:,?[ \t]+(?:[A-Z]{{1,2}}-)?\d{{4,5}}[ \t]+[{UPPER}]{WORD_TAIL}(?:[ \t\-]+[{UPPER}]{WORD_TAIL}){{0,2}})?"
)
ADDRESS = re.compile("|".join(
    [f"(?:{p}){THEN_POSTCODE}" for p in (EN_STREET, FR_STREET, ES_STREET, PO_BOX)] + [f"(?:{UK_POSTCODE})"]
))
POSTCODE_CITY_LINE = re.compile(
    rf"^[ \t]*(?:[A-Z]{{1,2}}[ \t]?-[ \t]?)?(?!(?:19|20)\d{{2}}\b)\d{{4,5}}[ \t]+[{UPPER}]{WORD_TAIL}"
    rf"(?:[ \t\-]+(?:[{UPPER}(]{WORD_TAIL}\)?|\d{{1,3}})){{0,3}}(?:,[ \t]*[{UPPER}][\w'’ \-]*)?[ \t]*$"
)
LOWER_WORD = re.compile(rf"(?<![\w\[])[{LOWER}]{{3,}}")

# --------------------------------------------------------------------------- names and organisations
# Titles before a name (Mr, Mme, Sra., Don, Herr), in any case or capitalised and followed by a
# proper name; particles that are part of a surname ("de la", "van", "bin"); and company-form
# suffixes (Ltd, GmbH, S.A.R.L., S.L., Pty Ltd), alone or at the end of an organisation's name.

TITLE_ANY_CASE = (
    r"(?:(?:mr|mrs|ms|mx|dr|prof|mme|mlle|sr|sra|srta|dña)\.?|m\.|don|doña|monsieur|madame|mademoiselle|"
    r"señor|señora|señorita|herr|frau|miss)"
)
#: A capitalised title and the one to three proper names after it: ``Mr Smith``, ``Sra. Gómez de la Cruz``.
TITLED_NAME = re.compile(
    r"\b(?:(?:Mr|Mrs|Ms|Mx|Dr|Prof|Mme|Mlle|Sr|Sra|Srta|Dña)\.?|(?<!\w)M\.|Don|Doña|Monsieur|Madame|Mademoiselle|"
    r"Señor|Señora|Señorita|Herr|Frau|Miss)"
    rf"[ \t]+{PROPER_NAME}(?:[ \t]+(?:{SURNAME_PARTICLE}[ \t]+)?{PROPER_NAME}){{0,2}}"
)
NAME_PARTICLES = {
    "de", "del", "della", "der", "den", "van", "von", "da", "das", "dos", "di", "du", "le", "la", "las", "los",
    "y", "bin", "ibn", "al", "el", "ben", "mac", "st",
}
ORG_SUFFIX = (
    r"(?-i:Ltd\.?|Limited|LLC|L\.L\.C\.|Inc\.?|Incorporated|Corp\.?|Corporation|PLC|Plc|plc|GmbH|AG|KG|"
    r"S\.A\.S\.?|SAS|S\.A\.R\.L\.?|SARL|S\.A\.|SA|S\.L\.|SL|S\.R\.L\.|SRL|S\.p\.A\.|SpA|B\.V\.|BV|N\.V\.|NV|"
    r"Pty(?:[ \t]+Ltd\.?)?|Sdn\.?[ \t]+Bhd\.?|Ltda\.?|Co\.|& Co\.?|Company|Oy|AB|A/S)"
)
#: The suffixes ending an organisation's name, to find its core: ``Acme Ltd`` -> ``Acme``.
ORG_SUFFIX_AT_END = re.compile(rf"(?:,?\s+{ORG_SUFFIX})+\s*$")
