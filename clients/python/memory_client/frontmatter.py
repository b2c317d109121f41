"""The YAML front matter of a handoff, read just enough to decide what the client must send
itself and what the server will take from the front matter anyway."""

from __future__ import annotations

import re
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def front_matter(body: str) -> dict[str, Any]:
    """The front matter as a mapping; {} when there is none or it is malformed (the server
    keeps malformed front matter as text and warns)."""
    match = _FRONT_MATTER.match(body)
    if match is None:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def without_front_matter(body: str) -> str:
    """The markdown after the front matter block (all of it when there is none)."""
    match = _FRONT_MATTER.match(body)
    return body[match.end() :] if match else body


def field(body: str, *names: str) -> str | None:
    """The first of `names` present (non-empty) in the front matter, as text."""
    data = front_matter(body)
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return str(value)
    return None
