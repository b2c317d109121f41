"""API key format: `mem_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 of the
whole key is stored (keys are 256-bit random, so a slow password hash would add nothing)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "mem_"
SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class NewKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> NewKey:
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


def split_prefix(plaintext: str) -> str | None:
    """The lookup prefix of a presented key, or None when it cannot be one of ours."""
    if not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    prefix, sep, secret = plaintext[len(KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 8 or not secret:
        return None
    return prefix


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    wanted = {s.strip() for s in items if s.strip()}
    if not wanted or wanted - set(SCOPES):
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
    return [s for s in SCOPES if s in wanted]
