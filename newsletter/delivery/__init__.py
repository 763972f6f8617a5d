"""Getting composed messages to a relay (or the local outbox) and saying what became of each.

`outcomes` is the one place an SMTP reply is turned into sent / deferred / failed (invariant
`one-reply-classifier`); `mailers` holds the small `Mailer` interface and its SMTP and outbox
implementations.
"""
