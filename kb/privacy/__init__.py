"""Personal data handled as a data-protection officer would ask.

- ``data_map``: every column and data file, classified; what export shows and erasure does follows from it;
- ``marks``: what identifies a person in text, and the scrubber that takes it out;
- ``footprint``: the rows holding one person's data;
- ``export``: those rows, readable, with the original emails and attachments;
- ``erasure``: those rows rewritten (cleared, anonymised, removed), then a sweep of every text column;
- ``retention``: closed queries past the retention period;
- ``audit``: who read, exported, erased or changed what.

The use cases are ``kb.service.privacy.PrivacyUseCases``.
"""
