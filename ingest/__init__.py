"""The email adapter: IMAP in, SMTP out, through the service and the outbox.

No business rule lives here: a parsed email becomes one call on ``kb.service``.
"""
