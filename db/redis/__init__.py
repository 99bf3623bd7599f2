"""Redis adapters of the domain's ports: session deny-list, rate limits, sign-in lockout,
and the arq queue the outbox hands messages to."""
