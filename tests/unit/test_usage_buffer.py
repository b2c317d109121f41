"""The use counter's buffer without a database: counts add up per team and learning, a flush
that fails keeps them for the next one, and noting never waits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from memory_service.usage.service import UsageBuffer

TEAM_A, TEAM_B = uuid.UUID(int=1), uuid.UUID(int=2)
L1, L2 = uuid.UUID(int=11), uuid.UUID(int=12)


class _Refusing:
    """A session factory whose sessions fail at once, like a database that is away."""

    def __call__(self) -> Any:
        raise ConnectionError("database away")


def test_counts_add_up_per_team_and_learning() -> None:
    buffer = UsageBuffer()
    buffer.note(TEAM_A, [L1, L2])
    buffer.note(TEAM_A, [L1])
    buffer.note(TEAM_B, [L1])
    assert buffer.pending() == 3
    taken = buffer._take()
    assert {k: {i: n for i, (n, _) in v.items()} for k, v in taken.items()} == {
        TEAM_A: {L1: 2, L2: 1},
        TEAM_B: {L1: 1},
    }
    assert buffer.pending() == 0


async def test_a_failed_flush_keeps_the_counts() -> None:
    buffer = UsageBuffer()
    buffer.note(TEAM_A, [L1, L1])
    with pytest.raises(ConnectionError):
        await buffer.flush(_Refusing())  # type: ignore[arg-type]
    buffer.note(TEAM_A, [L1])
    assert buffer.pending() == 1
    assert buffer._take()[TEAM_A][L1][0] == 3
