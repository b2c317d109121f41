"""Pieces of the search statement built in Python."""

from __future__ import annotations

from memory_service.db import statement
from memory_service.recall.statement import _text_array


def test_text_array_literal_quotes_every_element() -> None:
    assert _text_array(()) == "{}"
    assert _text_array(("cach", "a b", 'x"y', "back\\slash", "co,ma", "NULL")) == (
        '{"cach","a b","x\\"y","back\\\\slash","co,ma","NULL"}'
    )


def test_statement_drops_comments_and_runs_of_whitespace_once() -> None:
    sql = """
        SELECT 1  -- a comment
          FROM   t
         WHERE a = ' & '
    """
    built = statement(sql)
    assert built.text == "SELECT 1 FROM t WHERE a = ' & '"
    assert statement(sql) is built  # built once per distinct SQL string
