"""Telling a requester's rating of a reply from a new question.

After a reply, the helpdesk asks for a mark from 1 to 5. A requester who
answers "4 - very clear, thanks" is rating the reply, not reopening the query;
one who writes three paragraphs with a "5" in them is asking something new.
The rule, one place for every channel: a short message (the quoted reply left
out) whose only standalone number is a mark from 1 to 5, or that starts with
one ("4/5", "Note : 4", "5 estrellas"), is a rating; its words are the comment.
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


@dataclass(frozen=True)
class Rating:
    mark: int
    comment: str | None


def read_rating(text: str) -> Rating | None:
    """The rating in a requester's short answer to a reply, or None when it is something else."""
    body = (text or "").strip()
    if not body or len(body.split()) > MAX_RATING_WORDS or _QUESTION.search(body):
        return None
    lead = _LEAD.match(body)
    if lead is not None:
        rest = body[lead.end():].strip(" \t\r\n-–—:;,.!)")
        return Rating(int(lead.group(1)), rest or None)
    inside = _INSIDE.search(body)
    if inside is not None:
        mark = next(int(g) for g in inside.groups() if g)
        return Rating(mark, body)
    return None
