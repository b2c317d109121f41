"""`memory-service reembed`: learnings of another model get new embeddings, resumably."""

from __future__ import annotations

import httpx
import numpy as np
import psycopg

from memory_service.config import Settings
from memory_service.db import create_engine, libpq_url, session_factory
from memory_service.embeddings import Embedder
from memory_service.learnings.embedding_text import embedding_text
from memory_service.learnings.reembed import pending, reembed
from tests.helpers import MakeKey, service_cli, write_handoff

BODY = "## Decisions\n" + "".join(
    f"- Decision number {i} about caching layer {i}.\n" for i in range(7)
)


async def test_reembed_replaces_old_model_embeddings(
    client: httpx.AsyncClient, make_key: MakeKey, settings: Settings, embedder: Embedder
) -> None:
    key = await make_key()
    await write_handoff(client, key, "github.com/acme/api", BODY, recipient="api")
    url = libpq_url(str(settings.database_url))
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE learnings SET embedding_model = 'old-model', "
            "embedding = array_fill(0.05, ARRAY[384])::vector WHERE position < 5"
        )
    engine = create_engine(str(settings.database_url), pool_size=1, max_overflow=0)
    try:
        sessions = session_factory(engine)
        assert await pending(sessions, embedder.name) == 5
        # Two small batches, then nothing left: an interrupted run simply resumes.
        assert await reembed(sessions, embedder, batch_size=2, progress=False) == 5
        assert await pending(sessions, embedder.name) == 0
        assert await reembed(sessions, embedder, batch_size=2, progress=False) == 0
    finally:
        await engine.dispose()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT kind, text, section, embedding::text, embedding_model FROM learnings"
        ).fetchall()
    assert {r[4] for r in rows} == {"all-MiniLM-L6-v2"}
    for kind, text, section, stored, _ in rows:
        expected = embedder.encode([embedding_text(kind, text, section=section)])[0]
        got = np.array([float(x) for x in stored.strip("[]").split(",")])
        assert float(got @ expected) > 0.999


def test_reembed_command(settings: Settings) -> None:
    with psycopg.connect(libpq_url(str(settings.database_url))) as conn:
        conn.execute("UPDATE learnings SET embedding_model = 'old-model'")
    result = service_cli(settings, "reembed", "--batch-size", "50", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "re-embedded 0 learning(s) with all-MiniLM-L6-v2" in result.stdout
