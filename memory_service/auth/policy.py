"""Who may manage keys, teams and the audit trail. The admin service and the audit service call
these checks themselves (not only the routes' `Admin` dependency), so every entry point obeys
the same rules:

1. **Admin actions need the `admin` scope and no project limit.** Keys, teams and the audit
   trail are team-wide: a key limited to some projects acts only on those projects' data. On
   such a key `admin` grants read and write there, nothing more.
2. **A key never grants more than it holds.** A new or rotated key has no scope and no
   project beyond those of the key that makes it (`admin` holds every scope; no project
   limit holds every project).
3. **Teams, and keys of other teams, are the operator's.** Only admin keys of the operator
   team (`MEMORY_OPERATOR_TEAM`) with no project limit create or list teams, or create a key
   in another team. Every other key management acts on the caller's own team only (a key of
   another team is "not found").
"""

from __future__ import annotations

from collections.abc import Iterable

from memory_service.auth.keys import SCOPES
from memory_service.auth.service import Principal
from memory_service.errors import Forbidden


def require_team_admin(principal: Principal) -> None:
    """Rule 1: the caller may manage its team's keys and read its audit trail."""
    if "admin" not in principal.scopes:
        raise Forbidden("this API key lacks the `admin` scope", details={"scope": "admin"})
    if principal.projects is not None:
        raise Forbidden(
            "admin actions need an API key without a project limit; this key is limited to "
            f"{len(principal.projects)} project(s) and acts only on their data",
            code="project_limited_key",
        )


def require_operator(principal: Principal, principal_team: str, operator: str) -> None:
    """Rule 3: the caller is an unrestricted admin of the operator team."""
    require_team_admin(principal)
    if principal_team != operator:
        raise Forbidden(f"only admin keys of the operator team `{operator}` manage teams")


def held_scopes(principal: Principal) -> frozenset[str]:
    return frozenset(SCOPES) if "admin" in principal.scopes else principal.scopes


def ensure_may_grant(
    principal: Principal, scopes: Iterable[str], projects: Iterable[str] | None
) -> None:
    """Rule 2: a key with `scopes` and `projects` (None: every project) grants nothing the
    caller does not hold."""
    extra = set(scopes) - held_scopes(principal)
    if extra:
        raise Forbidden(
            f"a key cannot grant scopes it does not hold: {', '.join(sorted(extra))}",
            details={"scopes": sorted(extra)},
        )
    if principal.projects is None:
        return
    if projects is None:
        raise Forbidden("a key limited to projects cannot grant access to every project")
    beyond = set(projects) - set(principal.projects)
    if beyond:
        raise Forbidden(
            "a key cannot grant projects it is not allowed on",
            details={"projects": sorted(beyond)},
        )
