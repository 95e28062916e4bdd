"""The texts the helpdesk sends to its own people (focal points, the specialist).

Internal mail is in English. What a focal point sees of the requester depends
on the confidential flag: a confidential query shares only the region and the
type of requester, never the organisation, name or address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def routing_notice(
    *,
    reference: str,
    department_name: str,
    reason: str,
    due_date: date,
    topic_names: Sequence[str],
    subject: str | None,
    text: str,
    confidential: bool,
    organisation: str | None,
    country_name: str | None,
    region: str | None,
    requester_type: str | None,
) -> Notice:
    """The email that asks a department's focal points for their input."""
    if confidential:
        who = [f"Region: {region or 'not given'}", f"Requester type: {requester_type or 'not given'}",
               "This query is CONFIDENTIAL: the requester's identity is withheld. Do not forward."]
    else:
        who = [f"Organisation: {organisation or 'not given'}", f"Country: {country_name or 'not given'}",
               f"Region: {region or 'not given'}", f"Requester type: {requester_type or 'not given'}"]
    body = "\n".join([
        f"The helpdesk has received query {reference} and asks {department_name} for its input.",
        f"Why you: {reason}.",
        "",
        *who,
        f"Topics found: {', '.join(topic_names) or 'none'}",
        f"Your input is due by {due_date.isoformat()}.",
        "",
        "Please reply to this email with your input; keep the reference in the subject.",
        "",
        "----- Query -----",
        f"Subject: {subject or '(none)'}",
        "",
        text.strip(),
    ])
    return Notice(f"[{reference}] Input requested by {due_date.isoformat()}: {', '.join(topic_names) or 'query'}", body)


ACKNOWLEDGEMENTS = {
    "en": Notice(
        "[{reference}] We have received your query",
        "Thank you for writing to the {helpdesk}.\n\nYour query has been registered under the reference {reference}. "
        "We aim to reply by {target}. Please keep the reference in the subject if you write again about it.\n\n"
        "This is an automatic acknowledgement.\n\n{helpdesk}",
    ),
    "fr": Notice(
        "[{reference}] Nous avons bien reçu votre demande",
        "Merci d'avoir écrit au {helpdesk}.\n\nVotre demande est enregistrée sous la référence {reference}. "
        "Nous visons à vous répondre d'ici le {target}. Merci de garder la référence dans l'objet si vous nous "
        "écrivez à nouveau à ce sujet.\n\nCeci est un accusé de réception automatique.\n\n{helpdesk}",
    ),
    "es": Notice(
        "[{reference}] Hemos recibido su consulta",
        "Gracias por escribir al {helpdesk}.\n\nSu consulta ha quedado registrada con la referencia {reference}. "
        "Nuestro objetivo es responderle antes del {target}. Por favor, mantenga la referencia en el asunto si "
        "vuelve a escribirnos sobre ella.\n\nEste es un acuse de recibo automático.\n\n{helpdesk}",
    ),
}


def acknowledgement(language: str, *, helpdesk: str, reference: str, target: date) -> Notice:
    """The automatic acknowledgement a requester gets, in the query's language."""
    template = ACKNOWLEDGEMENTS.get(language, ACKNOWLEDGEMENTS["en"])
    values = {"helpdesk": helpdesk, "reference": reference, "target": target.isoformat()}
    return Notice(template.subject.format(**values), template.body.format(**values))


QUARANTINED = {
    "en": "Your message could not be accepted as it is ({reason}). It has been kept, but not registered. Please "
          "send your question again without archives or programs attached, with attachments under the size limit, "
          "or paste the text into the body of the email.",
    "fr": "Votre message n'a pas pu être accepté tel quel ({reason}). Il a été conservé mais pas enregistré. Merci "
          "de renvoyer votre question sans archive ni programme joint, avec des pièces jointes plus petites, ou de "
          "coller le texte dans le corps du message.",
    "es": "Su mensaje no pudo aceptarse tal como está ({reason}). Se ha conservado, pero no registrado. Vuelva a "
          "enviar su pregunta sin archivos comprimidos ni programas adjuntos, con adjuntos más pequeños, o pegue el "
          "texto en el cuerpo del mensaje.",
}


def quarantined_notice(reason: str, *, helpdesk: str, subject: str | None, language: str | None = None) -> Notice:
    """Why a person's message was set aside, and what to do: in their language when it could be read, else in
    the three languages."""
    languages = [language] if language in QUARANTINED else list(QUARANTINED)
    body = "\n\n".join([*(QUARANTINED[code].format(reason=reason) for code in languages), helpdesk])
    return Notice(f"Re: {subject}" if subject else "Your message to the helpdesk", body)


def rejection(reason: str, *, helpdesk: str, subject: str | None) -> Notice:
    """Why a message could not be registered as a query (in the three languages: we do not know theirs)."""
    body = "\n\n".join([
        f"Your message could not be registered as a query: {reason}",
        "Votre message n'a pas pu être enregistré comme demande. Merci d'écrire en anglais, en français ou en "
        "espagnol et de poser votre question dans le corps du message.",
        "Su mensaje no pudo registrarse como consulta. Escriba en inglés, francés o español e incluya su pregunta "
        "en el cuerpo del mensaje.",
        helpdesk,
    ])
    return Notice(f"Re: {subject}" if subject else "Your message to the helpdesk", body)
