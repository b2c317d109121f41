"""Text hygiene: what every piece of text from outside goes through before it is stored, shown
or embedded. Control characters and escape sequences removed (`sanitize`), secrets redacted
(`redaction`), text made safe for PostgreSQL's text-search parser (`textsearch`), and text that
reads like an instruction to an agent recognised (`poison`, `textnorm`, `screening`)."""
