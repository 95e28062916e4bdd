"""One analyser for training and serving.

The same function turns a text into features when scikit-learn fits the model
and when the exported arrays score a query, so the two can never drift apart.
Features are prefixed by kind so that explanations can show the readable ones:

- ``w:child``        a word (accents folded, lower case, function words dropped)
- ``b:child labour`` two consecutive content words
- ``c:hil``          a character 3- to 5-gram inside a word, which lets the
  model recognise inflections it never saw (``licenciement``/``licenciements``,
  ``harassment``/``harassed``) with few examples.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from classifier.stopwords import ALL as STOPWORDS

_TOKEN = re.compile(r"[a-z0-9]+")
#: Elisions cut off before folding. One-letter ones (l', d', n'...) would fall away anyway as one-letter words;
#: what the pattern matters for is "qu'", "jusqu'"... (every match ends in "q'" or "qu'", which ``elide`` uses).
_APOSTROPHE = re.compile(r"\b[ldjmnstc]qu?'|\b(?:qu|jusqu|lorsqu|puisqu)'", re.IGNORECASE)


#: The combining marks of the Basic Multilingual Plane (accents once decomposed), for str.translate.
def _ranges(points: list[int]) -> list[tuple[int, int]]:
    """Sorted code points as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for cp in points:
        if runs and cp == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], cp)
        else:
            runs.append((cp, cp))
    return runs


_COMBINING = {cp: None for cp in range(0x300, 0x10000) if unicodedata.combining(chr(cp))}
#: The same marks as one regex character class (runs of consecutive code points as ranges).
_COMBINING_MARKS = re.compile("[" + "".join(
    re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
    for a, b in _ranges(sorted(_COMBINING))) + "]")
#: Every ASCII character that is not a lower-case letter or a digit becomes a space (what ``_TOKEN`` splits on).
_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not ("a" <= chr(c) <= "z" or "0" <= chr(c) <= "9")})


def elide(text: str) -> str:
    """Typographic apostrophes made plain, and French elisions (``l'``, ``qu'``...) cut off: the first step of
    ``fold``, the only one that looks beyond a single character."""
    text = text.replace("\u2019", "'")
    if "'" in text:  # elisions only where there is an apostrophe (most texts have none), and every one the
        lowered = text.lower()  # pattern finds ends in "q'" or "qu'": the regex scan is worth it only then
        if "qu'" in lowered or "q'" in lowered:
            text = _APOSTROPHE.sub(" ", text)
    return text


def fold(text: str) -> str:
    """Lower-case and strip accents (``Sécurité`` -> ``securite``), keeping letters and digits."""
    return _fold_letters(elide(text))


def _fold_letters(text: str) -> str:
    """``fold`` after the elisions: character by character, so a text may be folded in pieces."""
    text = text.casefold()
    if text.isascii():  # nothing to strip (most English text): the same result, faster
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    if max(decomposed) < "\U00010000":
        return _COMBINING_MARKS.sub("", decomposed)  # one regex pass beats str.translate with a dict
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: folded, without function words and one-letter tokens."""
    return piece_words(elide(text))


def piece_words(piece: str) -> list[str]:
    """``content_words`` of a piece of an ``elide``d text. Cut an elided text at its white space, and its pieces'
    words, one after the other, are the whole text's: every step after the elisions (case, accents, what
    separates words) works character by character, and white space always separates words."""
    folded = _fold_letters(piece)
    # ASCII text (most of it, once folded) splits faster on a translation table than with the regex.
    tokens = folded.translate(_SEPARATORS).split() if folded.isascii() else _TOKEN.findall(folded)
    return [t for t in tokens if len(t) > 1 and t not in STOPWORDS]


def word_features(word: str) -> list[str]:
    """The features of one content word: itself and its character 3- to 5-grams."""
    padded = f"<{word}>"
    out = [f"w:{word}"]
    for n in (3, 4, 5):
        out.extend(f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1))
    return out


def pair_features(words: list[str]) -> list[str]:
    """The features of consecutive content words."""
    return [f"b:{a} {b}" for a, b in zip(words, words[1:])]


def features(text: str) -> list[str]:
    """Every feature of ``text``: words, word pairs and in-word character n-grams."""
    words = content_words(text)
    out = pair_features(words)
    for w in words:
        out.extend(word_features(w))
    return out


def is_readable(feature: str) -> bool:
    """Words and word pairs explain a decision; character n-grams do not."""
    return not feature.startswith("c:")


def readable(feature: str) -> str:
    """``w:child`` -> ``child``."""
    return feature[2:]


# ------------------------------------------------------------------ a message's parts and their weight
# A helpdesk message is a question in a frame: a greeting, some background, the question (or
# several), thanks, a signature, perhaps a disclaimer and the quoted history of a thread. The
# parts are told apart by their form alone, in English, French and Spanish, and each is given the
# weight its words deserve when the topics of the whole message are decided.

#: How much each kind of part counts (relative): what is asked counts most, the frame almost nothing.
ROLE_WEIGHTS = {
    "subject": 1.5,  # "Subject: overtime in peak season"
    "question": 1.5,  # "Can we ...?", "Est-ce que ...", "¿Podemos ...?", "We would like to know ..."
    "body": 1.0,  # background: who we are, what happened
    "frame": 0.1,  # greetings, thanks, closings, signatures, disclaimers
    "quoted": 0.05,  # "> " lines and everything after "On ... wrote:"
}

_GREETING = (
    r"(?:dear(?:est)?|hello|hi|hey|greetings|good\s+(?:morning|afternoon|evening|day)|to\s+whom\s+it\s+may\s+concern"
    r"|bonjour|bonsoir|salut|ch[eè]re?s?|madame|monsieur|mesdames|messieurs|[àa]\s+qui\s+de\s+droit"
    r"|estimad[oa]s?|querid[oa]s?|apreciad[oa]s?|distinguid[oa]s?|hola|buen[oa]s\s+(?:d[ií]as|tardes|noches)"
    r"|a\s+quien\s+corresponda|señor(?:es|a|as)?)"
)
#: A greeting with up to five more words before a comma, colon or the line's end: "Dear ILO Helpdesk,".
_GREETING_PREFIX = re.compile(rf"(?i)^\s*{_GREETING}\b[^,:;!?.\n]{{0,60}}?(?:[,:;!]+\s*|\s*$)")
_CLOSING = re.compile(
    r"""(?ix)^\s*(?:
    (?:with\s+)?(?:(?:kind|best|warm|warmest|kindest|many|sincere|cordial)\s+)?regards | best(?:\s+wishes)?
  | all\s+the\s+best | (?:yours\s+)?(?:sincerely|faithfully|truly|respectfully) | cheers | take\s+care
  | (?:many\s+)?thanks(?:\s+(?:again|a\s+lot|in\s+advance))? | thank\s+you(?:\s+(?:again|very\s+much|in\s+advance))?
  | in\s+solidarity | (?:bien\s+)?cordialement | bien\s+[àa]\s+vous | (?:(?:mes|nos)\s+)?(?:sinc[èe]res\s+)?salutations
  | respectueusement | merci(?:\s+(?:d['’]avance|par\s+avance|beaucoup|encore))? | amitiés | solidairement
  | atentamente | cordialmente | (?:un\s+)?(?:cordial\s+)?saludo | saludos(?:\s+cordiales)?
  | (?:muchas\s+)?gracias(?:\s+(?:de\s+antemano|por\s+adelantado))? | un\s+abrazo | en\s+solidaridad
    )\s*[,.!]*\s*(?:[A-ZÀ-Ý][\w.'’-]*\s*){0,4}$"""
)
#: Sentences that are courtesy or legal boilerplate, whatever their length.
_COURTESY = re.compile(
    r"""(?ix)^\s*(?:
    (?:i|we)\s+(?:look|are\s+looking)\s+forward | looking\s+forward | (?:i|we)\s+hope\s+(?:this|you)
  | hope\s+you\s+are | thank(?:s|\s+you)\s+(?:in\s+advance|for\s+your|so\s+much|very\s+much) | thanking\s+you
  | please\s+(?:find\s+attached|let\s+(?:me|us)\s+know\s+if\s+you\s+need) | sent\s+from\s+my
  | dans\s+l['’]attente | en\s+vous\s+remerciant | je\s+vous\s+(?:remercie|prie) | nous\s+vous\s+remercions
  | merci\s+(?:d['’]avance|par\s+avance|pour\s+votre|de\s+votre) | veuillez\s+(?:agréer|recevoir) | j['’]espère\s+que
  | vous\s+trouverez\s+ci-joint | envoyé\s+de\s+mon
  | quedo\s+(?:a\s+la\s+espera|atent[oa]) | en\s+espera\s+de | (?:muchas\s+)?gracias\s+(?:de\s+antemano|por\s+su)
  | le[s]?\s+agradezco\s+de\s+antemano | agradeciendo | espero\s+que\s+(?:se\s+encuentre|esté) | sin\s+otro\s+particular
  | adjunto\s+(?:le|les)? | enviado\s+desde\s+mi
    )"""
)
_DISCLAIMER = re.compile(
    r"(?i)confidential|intended\s+(?:solely|only)\s+for|if\s+you\s+(?:have\s+)?received\s+this|"
    r"confidentiel|destinataire|si\s+vous\s+avez\s+reçu\s+ce|confidencial|destinatario|si\s+ha\s+recibido\s+este|"
    r"before\s+printing|avant\s+d['’]imprimer|antes\s+de\s+imprimir|unsubscribe|se\s+désabonner"
)
#: Words one of which every disclaimer above contains (a cheap test before the expression).
_DISCLAIMER_HINTS = ("confiden", "intended", "received", "destinat", "reçu", "recibido", "print", "imprim", "subscri",
                     "désabonner")


def _is_disclaimer(sentence: str) -> bool:
    lower = sentence.lower()
    return any(h in lower for h in _DISCLAIMER_HINTS) and _DISCLAIMER.search(sentence) is not None


#: A line after which everything is the quoted history of the thread.
_REPLY_HEADER = re.compile(
    r"(?ix)^\s*(?:(?:on|le|el)\s.{3,200}?(?:wrote|a\s+écrit|escribió)\s*:?\s*$"
    r"|-{2,}\s*(?:original\s+message|forwarded\s+message|message\s+d['’]origine|message\s+transféré"
    r"|mensaje\s+original|mensaje\s+reenviado)\s*-{0,}\s*$"
    r"|(?:from|de)\s*:\s*.+@.+$)"
)
_SIGNATURE_CUT = re.compile(r"^\s*(?:--|_{3,})\s*$")
_SUBJECT = re.compile(r"(?i)^\s*(?:subject|objet|asunto)\s*:\s*(?:(?:re|tr|fw|fwd|rv)\s*:\s*)*")
#: The forms of a question or request that open a sentence (after any greeting), in the three languages.
_ASKING = re.compile(
    r"""(?ix)^\s*(?:
    (?:can|could|may|might|must|should|shall|would|will|do|does|did|is|are|was|were|has|have|had)\s+(?:we|i|you|it|they|a|an|the|our|my|this|that|there|companies|employers|workers)\b
  | how\b | what\b | which\b | who\b | whom\b | whose\b | when\b | where\b | why\b | is\s+it\b | are\s+there\b | is\s+there\b
  | (?:we|i)(?:\s+would|['’]d)\s+(?:like|want|appreciate|welcome|be\s+grateful) | (?:we|i)\s+(?:need|want|wish)\s+to\s+(?:know|understand|ask|check)
  | (?:we|i)\s+(?:need|seek|are\s+seeking|are\s+looking\s+for)\s+(?:advice|guidance|clarification|help)
  | (?:we|i)\s+(?:wonder|am\s+wondering|are\s+wondering) | wondering\b | (?:any|some)\s+(?:advice|guidance)\b
  | please\s+(?:advise|tell|confirm|explain|clarify|help|let\s+(?:me|us)\s+know|send)
  | (?:could|can)\s+you\b | help\s+(?:us|me)\b | advice\s+(?:on|about)\b | guidance\s+(?:on|about)\b
  | est-ce\s+que | qu['’]est-ce | peut-on | pouvons-nous | pourrions-nous | pouvez-vous | pourriez-vous | doit-on | devons-nous
  | devrions-nous | faut-il | sommes-nous | avons-nous | a-t-on | y\s+a-t-il | existe-t-il | est-il | est-elle | quels?\b | quelles?\b
  | comment\b | pourquoi\b | quand\b | combien\b | o[uù]\s | (?:nous|je)\s+(?:souhaiterions|souhaitons|souhaiterais|souhaite|aimerions|aimerais|voudrions|voudrais)\s+(?:savoir|connaître|comprendre|avoir|obtenir|vous\s+demander)
  | merci\s+de\s+(?:nous|me)\s+(?:indiquer|préciser|confirmer|dire|éclairer) | (?:nous|je)\s+(?:cherchons|cherche)\s+(?:à\s+savoir|conseil)
  | ¿ | c[oó]mo\s+(?:podemos|puedo|debemos|debo|se|hay|hacer|puede|deber[ií]amos) | cómo\b | qu[eé]\s+(?:debemos|podemos|puede|pasa|dice|hacer|medidas|exige|significa|obligaciones)
  | qué\b | cu[aá]l(?:es)?\b | cu[aá]ndo\b | d[oó]nde\b | por\s+qu[eé]\b | cu[aá]nt[oa]s?\b | podemos\b | puedo\b | podr[ií]amos\b
  | debemos\b | deber[ií]amos\b | tenemos\s+que\b | es\s+(?:legal|posible|obligatorio|l[ií]cito|correcto)\b | hay\s+que\b | existe\b
  | (?:nos|me)\s+gustar[ií]a\s+saber | quisi[eé]ramos\s+saber | quisiera\s+saber | queremos\s+saber | necesitamos\s+saber
  | (?:les|le)\s+agradecer[ií](?:amos|a) | agradecer[ií]amos
    )"""
)


#: Requests that may come after an opening phrase: "As a buyer, we would like to know whether ...".
_REQUEST = re.compile(
    r"""(?ix)\b(?:
    (?:we|i)(?:\s+would|['’]d)\s+like\s+to\s+(?:know|ask|understand) | (?:we|i)\s+(?:need|want|wish)\s+to\s+know
  | (?:we|i)\s+(?:wonder|am\s+wondering|are\s+wondering)\s+(?:if|whether|how|what)
  | (?:nous|je)\s+(?:souhaiterions|souhaitons|souhaiterais|souhaite|aimerions|aimerais|voudrions|voudrais)\s+savoir
  | (?:nos|me)\s+gustar[ií]a\s+saber | quisi[eé]ramos\s+saber | quisiera\s+saber | queremos\s+saber
  | necesitamos\s+saber | desear[ií]amos\s+saber
    )"""
)


@dataclass(frozen=True)
class Part:
    """A sentence (or line) of a message, the kind of part it is, and how much it counts."""

    text: str
    role: str

    @property
    def weight(self) -> float:
        return ROLE_WEIGHTS[self.role]


def _sentence_role(sentence: str) -> tuple[str, str]:
    """(role, text without its greeting) of one sentence of the body."""
    greeting = _GREETING_PREFIX.match(sentence)
    if greeting:
        rest = sentence[greeting.end():].strip()
        if not rest or len(content_words(rest)) < 1:
            return "frame", sentence
        sentence = rest
    if _CLOSING.match(sentence) or _COURTESY.match(sentence) or _is_disclaimer(sentence):
        return "frame", sentence
    if "?" in sentence or "¿" in sentence or _ASKING.match(sentence) or _REQUEST.search(sentence):
        return "question", sentence
    return "body", sentence


_LINE_SENTENCES = re.compile(r"(?<=[.?!;])\s+(?=\S)")


def message_parts(text: str) -> list[Part]:
    """The parts of a message in order, each with its role (see :data:`ROLE_WEIGHTS`).

    Quoted history (``> `` lines, everything after "On ... wrote:", "Le ... a écrit :", "El ...
    escribió:" or an "Original message" line) and what follows a signature delimiter or a closing
    line ("Kind regards,", "Cordialement,", "Atentamente,") count least; a closing followed by a
    real question ("Thanks. Also, can we ...?") does not hide the question.
    """
    parts: list[Part] = []
    quoted = signed = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if quoted or stripped.startswith(">") or _REPLY_HEADER.match(stripped):
            quoted = quoted or not stripped.startswith(">")
            parts.append(Part(stripped.lstrip("> "), "quoted"))
            continue
        if _SIGNATURE_CUT.match(stripped):
            signed = True
            continue
        subject = _SUBJECT.match(stripped)
        if subject:
            parts.append(Part(stripped[subject.end():], "subject"))
            continue
        if _CLOSING.match(stripped):
            signed = True
            parts.append(Part(stripped, "frame"))
            continue
        for sentence in _LINE_SENTENCES.split(stripped):
            role, sentence = _sentence_role(sentence)
            if signed and role != "question":
                role = "frame"
            parts.append(Part(sentence, role))
    return parts
