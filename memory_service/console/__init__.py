"""The web console at /console: server-rendered pages for the people who run a team's memory.

A person signs in with an API key (`sessions.py`); every page then acts as that key, with its
team, scopes and project limits, through the same domain services and row-level security as
the REST API. `routes.py` assembles the pages (`pages/`), `deps.py` holds the sign-in, CSRF and
scope checks, `rendering.py` the templates and the one way untrusted markdown becomes HTML,
`security.py` the headers every console response carries and `errors.py` the error page."""
