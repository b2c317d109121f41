"""Where the client finds its server and API key, first match wins for each of the two:

1. `MEMORY_URL` and `MEMORY_API_KEY`;
2. the config file: `MEMORY_CONFIG`, else `~/.config/memory/config.toml` (or under
   `$XDG_CONFIG_HOME`), with `url = "..."` and `api_key = "..."`;
3. the local server: `http://127.0.0.1:8765` (or `MEMORY_HOST`/`MEMORY_PORT`, as `make run`
   reads them) and the admin key it saved on first start,
   `<MEMORY_DATA_DIR or the user data dir of "memory-service">/admin_key`.

So on a machine running `make run`, nothing needs configuring."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs

from memory_client.errors import ConfigurationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class ClientConfig:
    url: str
    api_key: str | None
    url_source: str
    key_source: str | None


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """`MEMORY_CONFIG`, else `$XDG_CONFIG_HOME/memory/config.toml`, else
    `~/.config/memory/config.toml` (on macOS too, where command-line tools keep it there;
    Windows uses its roaming app-data folder)."""
    env = os.environ if env is None else env
    if env.get("MEMORY_CONFIG"):
        return Path(env["MEMORY_CONFIG"]).expanduser()
    if env.get("XDG_CONFIG_HOME"):
        base = Path(env["XDG_CONFIG_HOME"])
    elif os.name == "nt":
        base = Path(platformdirs.user_config_dir(appauthor=False, roaming=True))
    else:
        base = Path(env.get("HOME") or Path.home()) / ".config"
    return base / "memory" / "config.toml"


def server_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The local server's MEMORY_DATA_DIR, defaulted exactly as the server defaults it."""
    env = os.environ if env is None else env
    if env.get("MEMORY_DATA_DIR"):
        return Path(env["MEMORY_DATA_DIR"]).expanduser()
    return Path(platformdirs.user_data_dir("memory-service", appauthor=False))


def admin_key_file(env: Mapping[str, str] | None = None) -> Path:
    return server_data_dir(env) / "admin_key"


def local_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    host = env.get("MEMORY_HOST") or DEFAULT_HOST
    # A server bound to every interface is reached on loopback.
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - compared, not bound
        host = DEFAULT_HOST
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{env.get('MEMORY_PORT') or DEFAULT_PORT}"


def _read_config_file(path: Path) -> dict[str, str]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    found: dict[str, str] = {}
    for name in ("url", "api_key"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{path}: `{name}` must be a string")
        if value:
            found[name] = value
    return found


def _read_key_file(path: Path) -> str | None:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return key or None


def resolve(env: Mapping[str, str] | None = None) -> ClientConfig:
    """The URL and key to use, with where each came from (shown by `memory status`)."""
    env = os.environ if env is None else env
    url = env.get("MEMORY_URL") or None
    key = env.get("MEMORY_API_KEY") or None
    url_source = "MEMORY_URL" if url else None
    key_source = "MEMORY_API_KEY" if key else None
    if url is None or key is None:
        path = config_file(env)
        from_file = _read_config_file(path)
        if url is None and "url" in from_file:
            url, url_source = from_file["url"], str(path)
        if key is None and "api_key" in from_file:
            key, key_source = from_file["api_key"], str(path)
    if url is None:
        url, url_source = local_url(env), "default (local server)"
    if key is None:
        key_path = admin_key_file(env)
        key = _read_key_file(key_path)
        key_source = str(key_path) if key else None
    assert url_source is not None
    check_url(url, url_source)
    return ClientConfig(
        url=url.rstrip("/"), api_key=key, url_source=url_source, key_source=key_source
    )


def check_url(url: str, source: str) -> str:
    """`url` when it can name a memory server (`http(s)://host[:port][/prefix]`), else a
    ConfigurationError naming where it came from: a typo is not a network failure to retry."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{source}: {url!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"{source}: {url!r} is not an http(s) URL of a server; "
            f"use e.g. http://127.0.0.1:{DEFAULT_PORT}"
        )
    return url


def missing_key_message(env: Mapping[str, str] | None = None) -> str:
    return (
        'no API key found: set MEMORY_API_KEY, put `api_key = "..."` in '
        f"{config_file(env)}, or run the server locally (`make run`), which saves its admin "
        f"key to {admin_key_file(env)}"
    )
