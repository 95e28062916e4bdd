"""What a query is about, as the specialist confirms it: the country concerned and the requester's organisation.

Intake guesses both from the text (``kb.places``, ``kb.organisations``) and says why in the history; the
specialist confirms or corrects them here, and the annual report counts the query under the country and
ILO region confirmed.
"""

from __future__ import annotations

from kb.service.core import ServiceBase


class QueryFactsUseCases(ServiceBase):
    def set_country_concerned(self, reference: str, country: str, *, actor: str = "specialist") -> str:
        """Set the country the query is about (a code or a name in EN/FR/ES); returns its name."""
        resolved = self.countries.resolve(country)  # UnknownCountryError is a ValueError
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            old = query.country_concerned
            query.country_concerned, query.region, query.country_source = resolved.code, resolved.region, "specialist"
            self.record_event(session, query, "country concerned set", f"{old or '-'} -> {resolved.code} "
                              f"({resolved.name}, {resolved.region or 'no ILO region'})", at=self.clock(), actor=actor)
            return resolved.name

    def confirm_organisation(self, reference: str, *, actor: str = "specialist") -> str:
        """Make the organisation suggested from the text the requester's; returns it."""
        with self.unit_of_work() as session:
            query = self._get(session, reference)
            if not query.suggested_organisation:
                raise ValueError(f"{query.reference} has no suggested organisation to confirm")
            requester = query.requester
            old, requester.organisation = requester.organisation, query.suggested_organisation
            self.record_event(session, query, "requester updated",
                              f"organisation: {old or '-'} -> {requester.organisation} (suggestion confirmed)",
                              at=self.clock(), actor=actor)
            return requester.organisation
