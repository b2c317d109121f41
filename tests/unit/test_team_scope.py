"""The reader of tests/team_scope.py, which decides whether a statement names its team: what it
accepts, and that it refuses each way of leaving a team-owned table unconstrained."""

from __future__ import annotations

import pytest

from tests import team_scope

TEAM = {"learnings", "projects", "handoffs", "recall_injections"}

NAMES_ITS_TEAM = [
    "SELECT * FROM learnings WHERE team_id = :team AND id = :id",
    # SQLAlchemy's rendering for psycopg, with the table's name as qualifier and a cast.
    "SELECT learnings.id FROM learnings WHERE learnings.team_id = %(team_id_1)s::UUID",
    "SELECT l.id FROM learnings AS l WHERE CAST(:team AS uuid) = l.team_id",
    # Through a join of the same level: the equivalence a planner derives.
    "SELECT p.slug FROM learnings l JOIN projects p ON p.team_id = l.team_id "
    "AND p.id = l.project_id WHERE l.team_id = :team",
    # Each level on its own: a subquery, a CTE, a lateral subquery.
    "WITH x AS (SELECT id FROM learnings WHERE team_id = :team) "
    "SELECT l.id FROM x JOIN learnings l ON l.team_id = :team AND l.id = x.id "
    "CROSS JOIN LATERAL (SELECT count(*) FROM learnings d WHERE d.team_id = :team "
    "AND d.canonical_id = l.id) n",
    "INSERT INTO learnings (team_id, id, text) VALUES (:t, :i, 'a'), (:t, :j, 'b')",
    "INSERT INTO recall_injections AS r (team_id, session_key, learning_id) "
    "SELECT :team, :key, ids.id FROM unnest(CAST(:ids AS uuid[])) AS ids(id) "
    "ON CONFLICT (team_id, session_key, learning_id) DO UPDATE SET injected_at = now()",
    "UPDATE learnings l SET uses = l.uses + u.n FROM unnest(:ids, :ns) AS u(id, n) "
    "WHERE l.team_id = :team AND l.id = u.id",
    "DELETE FROM handoffs WHERE handoffs.team_id = %(team_id_1)s::UUID "
    "AND handoffs.id = %(id_1)s::UUID",
    # Not team-owned: teams and the directories are reference tables.
    "SELECT teams.name FROM teams WHERE teams.id = :id",
    "SELECT set_config(:n0, :v0, true)",
    # Strings and comments are not read.
    "SELECT 'FROM learnings' AS x -- FROM projects\n FROM handoffs h WHERE h.team_id = :t",
]

LEAVES_IT_OUT = [
    ("SELECT * FROM learnings WHERE id = :id", ["learnings learnings"]),
    # Row-level security's comparison with a setting routes nowhere.
    (
        "SELECT * FROM learnings WHERE "
        "team_id = NULLIF(current_setting('memory.team_id', true), '')::uuid",
        ["learnings learnings"],
    ),
    (
        "SELECT p.slug FROM learnings l JOIN projects p ON p.id = l.project_id "
        "WHERE l.team_id = :team",
        ["projects p"],
    ),
    (
        "SELECT l.id FROM learnings l, projects p WHERE p.team_id = :t AND l.id = :i",
        ["learnings l"],
    ),
    # A CTE's or a derived table's column carries no constant.
    (
        "WITH x AS (SELECT team_id, id FROM learnings WHERE team_id = :team) "
        "SELECT l.id FROM x JOIN learnings l ON l.team_id = x.team_id AND l.id = x.id",
        ["learnings l"],
    ),
    (
        "UPDATE handoffs AS h SET status = 'read' FROM (SELECT team_id, id FROM handoffs "
        "WHERE team_id = :team FOR UPDATE SKIP LOCKED) AS picked "
        "WHERE h.team_id = picked.team_id AND h.id = picked.id",
        ["handoffs h"],
    ),
    # Nor does an outer level's (a correlated subquery is a level of its own).
    (
        "SELECT l.id, (SELECT count(*) FROM learnings d WHERE d.team_id = l.team_id) "
        "FROM learnings l WHERE l.team_id = :team",
        ["learnings d"],
    ),
    ("INSERT INTO projects (id, slug) VALUES (:i, :s)", ["projects projects"]),
    (
        "DELETE FROM recall_injections WHERE injected_at < now()",
        ["recall_injections recall_injections"],
    ),
]


@pytest.mark.parametrize("sql", NAMES_ITS_TEAM)
def test_statements_that_name_their_team(sql: str) -> None:
    assert team_scope.check(sql, TEAM) == []


@pytest.mark.parametrize(("sql", "missing"), LEAVES_IT_OUT)
def test_statements_that_leave_a_table_unconstrained(sql: str, missing: list[str]) -> None:
    assert team_scope.check(sql, TEAM) == missing


def test_function_arguments_and_variables_are_bound_values() -> None:
    body = """
        DECLARE
            owner_team uuid;
        BEGIN
            SELECT d.team_id INTO owner_team FROM key_prefixes d WHERE d.prefix = key_prefix;
            IF FOUND THEN
                RETURN QUERY SELECT l.id FROM learnings l WHERE l.team_id = owner_team;
            END IF;
            UPDATE handoffs SET topic = 'x' WHERE handoffs.team_id = team AND id = 1;
        END
    """
    statements = team_scope.plpgsql_statements(body)
    assert [team_scope.check(s, TEAM, frozenset({"owner_team", "team"})) for s in statements] == [
        [] for _ in statements
    ]
    assert any(team_scope.check(s, TEAM) for s in statements)  # unbound without them
    assert team_scope.tables(" ".join(statements), TEAM) == {"learnings", "handoffs"}


def test_what_it_cannot_read_is_an_error_not_a_pass() -> None:
    with pytest.raises(team_scope.Unreadable):
        team_scope.check("SELECT * FROM (learnings WHERE team_id = :t", TEAM)
    with pytest.raises(team_scope.Unreadable):
        team_scope.check("INSERT INTO learnings SELECT * FROM learnings", TEAM)


def test_calls_lists_the_functions_a_statement_calls() -> None:
    sql = "SELECT 1 FROM tq, memory_text_candidates(CAST(:team AS uuid), tq.q) t"
    assert team_scope.calls(sql) >= {"memory_text_candidates", "cast"}
