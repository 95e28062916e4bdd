"""Telling a requester's rating of a reply from a new question.

After a reply, the helpdesk asks for a mark from 1 to 5. A requester who
answers "4 - very clear, thanks" is rating the reply, not reopening the query;
one who writes three paragraphs with a "5" in them is asking something new.
The rule, one place for every channel: a short message (the quoted reply left
out) whose only standalone number is a mark from 1 to 5, or that starts with
one ("4/5", "Note : 4", "5 estrellas"), is a rating; its words are the comment. So is a short
answer that starts with a verdict in English, French or Spanish ("Useful, thanks", "Pas utile",
"Parcialmente útil: falta el caso de Perú"): useful is 5, partly 3, not useful 1, the marks the
Telegram buttons give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A rating is short; a longer message is a follow-up even if it contains a digit.
MAX_RATING_WORDS = 40

_OUT_OF_FIVE = r"(?:\s*(?:/|out\s+of|sur|de)\s*5)?"
_STARS = r"(?:\s*(?:stars?|étoiles?|estrellas?|points?|puntos?))?"
#: The message starts with the mark, which ends there or at punctuation: "4", "4/5 - clear", "Note : 5. Merci".
_LEAD = re.compile(r"^\W*(?:(?:note|mark|rating|score|nota|puntuaci[oó]n|calificaci[oó]n)\s*[:=]?\s*)?"
                   r"([1-5])" + _OUT_OF_FIVE + _STARS + r"(?=\s*(?:$|[-–—:;,.!)\n]))", re.IGNORECASE)
#: Elsewhere in the text the mark needs a rating word beside it: "I'd give it a 4", "je donne 5 sur 5".
_INSIDE = re.compile(r"(?:\b(?:give|rate|rating|mark|score|donne|note|nota|doy|puntúo|califico)\b\D{0,12}"
                     r"\b([1-5])\b|\b([1-5])\s*(?:/|out\s+of|sur|de)\s*5\b|\b([1-5])\s*(?:stars?|étoiles?|estrellas?)\b)",
                     re.IGNORECASE)
_QUESTION = re.compile(r"\?|¿")
#: The three verdicts and the marks they stand for (the Telegram buttons give the same).
USEFUL, PARTLY, NOT_USEFUL = 5, 3, 1
VERDICTS = {"useful": USEFUL, "partly": PARTLY, "not_useful": NOT_USEFUL}
_VERDICT = [  # most specific first: "not useful" before "useful"
    (NOT_USEFUL, r"(?:not\s+(?:very\s+|really\s+)?(?:useful|helpful)|unhelpful|useless|pas\s+(?:très\s+|vraiment\s+)?utile"
                 r"|inutile|no\s+(?:me\s+|nos\s+)?(?:fue\s+|ha\s+sido\s+|es\s+|resultó\s+)?(?:muy\s+)?[uú]til|in[uú]til|nada\s+[uú]til)"),
    (PARTLY, r"(?:partly|partially|somewhat|fairly|quite|more\s+or\s+less|in\s+part)\s+(?:useful|helpful)"
             r"|(?:partiellement|en\s+partie|assez|moyennement|plus\s+ou\s+moins|peu)\s+utile"
             r"|(?:parcialmente|en\s+parte|algo|bastante|poco|m[aá]s\s+o\s+menos)\s+[uú]til"),
    (USEFUL, r"(?:(?:very|really|extremely|most)\s+)?(?:useful|helpful)|(?:(?:très|vraiment|fort)\s+)?utile"
             r"|(?:(?:muy|realmente|sumamente)\s+)?[uú]til"),
]
_VERDICT_LEAD = [(mark, re.compile(r"^\W*(?:(?:it\s+was|it's|this\s+was|c['’]était|c['’]est|fue|ha\s+sido)\s+)?"
                                   + pattern + r"\b", re.IGNORECASE)) for mark, pattern in _VERDICT]


@dataclass(frozen=True)
class Rating:
    mark: int
    comment: str | None


def read_rating(text: str) -> Rating | None:
    """The rating in a requester's short answer to a reply, or None when it is something else."""
    body = (text or "").strip()
    if not body or len(body.split()) > MAX_RATING_WORDS or _QUESTION.search(body):
        return None
    for mark, verdict in _VERDICT_LEAD:
        found = verdict.match(body)
        if found is not None:
            rest = body[found.end():].strip(" \t\r\n-–—:;,.!)")
            return Rating(mark, rest or None)
    lead = _LEAD.match(body)
    if lead is not None:
        rest = body[lead.end():].strip(" \t\r\n-–—:;,.!)")
        return Rating(int(lead.group(1)), rest or None)
    inside = _INSIDE.search(body)
    if inside is not None:
        mark = next(int(g) for g in inside.groups() if g)
        return Rating(mark, body)
    return None
