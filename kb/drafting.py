"""Draft replies in the requester's language.

A draft is built only from what the helpdesk already knows: the answers of
good Q&A matches. When nothing matches well, the draft is an honest holding
reply that says the specialists are working on it, and the note to the
specialist says why; it never invents an answer. Notes are for the specialist
and are never sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from kb.matching import QAMatch

LANGUAGE_NAMES = {"en": "English", "fr": "French", "es": "Spanish"}

TEMPLATES = {
    "en": {
        "greeting": "Dear {name},",
        "anonymous": "Dear Sir or Madam,",
        "thanks": "Thank you for contacting the {helpdesk} (reference {reference}).",
        "answer_intro": "On your question about {topics}:",
        "see_also": "You may also find this useful:",
        "holding": (
            "Your question about {topics} has been passed to our specialists, who will consult the relevant "
            "technical experts. We aim to reply by {target}."
        ),
        "disclaimer": (
            "This reply gives general guidance based on international labour standards and the ILO MNE "
            "Declaration; it is not a legal opinion on national law."
        ),
        "feedback": "We would welcome your feedback on this reply.",
        "closing": "Kind regards,\n{helpdesk}",
        "general": "your query",
    },
    "fr": {
        "greeting": "Bonjour {name},",
        "anonymous": "Madame, Monsieur,",
        "thanks": "Nous vous remercions d'avoir contacté le {helpdesk} (référence {reference}).",
        "answer_intro": "Concernant votre question sur {topics} :",
        "see_also": "Ceci pourrait également vous être utile :",
        "holding": (
            "Votre question sur {topics} a été transmise à nos spécialistes, qui consulteront les experts "
            "techniques concernés. Nous visons à vous répondre d'ici le {target}."
        ),
        "disclaimer": (
            "Cette réponse donne des orientations générales fondées sur les normes internationales du travail et "
            "la Déclaration de l'OIT sur les entreprises multinationales ; elle ne constitue pas un avis juridique "
            "sur le droit national."
        ),
        "feedback": "Vos commentaires sur cette réponse nous seraient précieux.",
        "closing": "Veuillez agréer nos salutations distinguées,\n{helpdesk}",
        "general": "votre demande",
    },
    "es": {
        "greeting": "Estimado/a {name}:",
        "anonymous": "Estimado/a señor/a:",
        "thanks": "Gracias por contactar con el {helpdesk} (referencia {reference}).",
        "answer_intro": "Sobre su pregunta acerca de {topics}:",
        "see_also": "También puede resultarle útil:",
        "holding": (
            "Su pregunta sobre {topics} ha sido remitida a nuestros especialistas, que consultarán a los expertos "
            "técnicos pertinentes. Nuestro objetivo es responderle antes del {target}."
        ),
        "disclaimer": (
            "Esta respuesta ofrece orientación general basada en las normas internacionales del trabajo y la "
            "Declaración EMN de la OIT; no constituye una opinión jurídica sobre la legislación nacional."
        ),
        "feedback": "Le agradeceríamos sus comentarios sobre esta respuesta.",
        "closing": "Atentamente,\n{helpdesk}",
        "general": "su consulta",
    },
}


@dataclass(frozen=True)
class DraftProposal:
    language: str
    text: str
    notes: tuple[str, ...] = ()
    sources: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def from_bank(self) -> bool:
        return bool(self.sources)


def compose_draft(
    *,
    language: str,
    helpdesk: str,
    reference: str,
    target_reply_date: date,
    topic_names: Sequence[str],
    matches: Sequence[QAMatch],
    requester_name: str | None = None,
) -> DraftProposal:
    """A reply to review: built from the good matches, or a holding reply when there are none."""
    t = TEMPLATES.get(language, TEMPLATES["en"])
    topics = ", ".join(topic_names) if topic_names else t["general"]
    parts = [t["greeting"].format(name=requester_name) if requester_name else t["anonymous"], ""]
    parts.append(t["thanks"].format(helpdesk=helpdesk, reference=reference))
    notes: list[str] = []
    good = [m for m in matches if m.good]
    # Prefer a Q&A that has a version in the requester's language.
    good.sort(key=lambda m: (m.entry.in_language(language) is None, -m.score))
    sources: list[dict] = []
    if good:
        best = good[0]
        parts += ["", t["answer_intro"].format(topics=topics), "", _answer(best, language)]
        sources.append({"qa_id": best.entry.id, "qa_key": best.entry.key, "score": best.score})
        notes.append(f"Drafted from Q&A {best.entry.key} (score {best.score:.0f}, shared terms: "
                     f"{', '.join(best.shared_terms) or 'none'}). Check it fits the requester's situation.")
        extra = next((m for m in good[1:] if set(m.entry.topics) - set(best.entry.topics)), None)
        if extra is not None:
            parts += ["", t["see_also"], "", _answer(extra, language)]
            sources.append({"qa_id": extra.entry.id, "qa_key": extra.entry.key, "score": extra.score})
        for source in (best, extra):
            if source is not None and source.entry.in_language(language) is None:
                notes.append(
                    f"Q&A {source.entry.key} has no {LANGUAGE_NAMES.get(language, language)} version: translate "
                    f"its {LANGUAGE_NAMES.get(source.entry.language, source.entry.language)} version (quoted "
                    "above) before sending, and add the translation to the bank."
                )
        parts += ["", t["disclaimer"], "", t["feedback"]]
    else:
        parts += ["", t["holding"].format(topics=topics, target=target_reply_date.isoformat())]
        best = matches[0] if matches else None
        notes.append(
            "No Q&A in the bank matches this query well enough"
            + (f" (closest: {best.entry.key}, score {best.score:.0f})" if best else "")
            + "; write the answer with the focal points' input."
        )
    parts += ["", t["closing"].format(helpdesk=helpdesk)]
    return DraftProposal(language, "\n".join(parts), tuple(notes), tuple(sources))


def _answer(match: QAMatch, language: str) -> str:
    """The matched Q&A's answer in the requester's language when it has that version, else the matched one."""
    version = match.entry.in_language(language)
    return (version[1] if version else match.entry.answer).strip()
