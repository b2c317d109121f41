"""Where the client finds its server and API key, first match wins for each of the two:

1. `MEMORY_URL` and `MEMORY_API_KEY`;
2. the config file: `MEMORY_CONFIG`, else `~/.config/memory/config.toml` (or under
   `$XDG_CONFIG_HOME`), with `url = "..."` and `api_key = "..."`;
3. the local server: `http://127.0.0.1:8765` (or `MEMORY_HOST`/`MEMORY_PORT`, as `make run`
   reads them) and the admin key it saved on first start,
   `<MEMORY_DATA_DIR or the user data dir of "memory-service">/admin_key`.

So on a machine running `make run`, nothing needs configuring. Elsewhere `memory login` (or
`memory config set`) writes the file once (`save`), and `memory install` records there what the
shell's variables say, for hooks and MCP servers an agent starts without them (`agent_env`)."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs

from memory_client.errors import ConfigurationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# What `save` writes, the names the file is read for.
SETTINGS = ("url", "api_key")
# The variables an agent's hook or MCP server can count on: the user's home, never the
# shell's own exports (an agent started from a desktop launcher, an IDE or a service has none
# of them; Codex's `shell_environment_policy` can drop variables named like *KEY*).
_AGENT_VARIABLES = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA")


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


def check_url(url: str, source: str = "the server URL") -> str:
    """`url` (without a trailing slash) when it can name a memory server
    (`http(s)://host[:port][/prefix]`), else a ConfigurationError naming where it came from:
    a typo is not a network failure to retry."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{source}: {url!r} is not a URL ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"{source}: {url!r} is not an http(s) URL of a server; "
            f"use e.g. http://127.0.0.1:{DEFAULT_PORT}"
        )
    if any(c.isspace() for c in url):
        raise ConfigurationError(f"{source}: {url!r} contains whitespace")
    return url.rstrip("/")


def missing_key_message(env: Mapping[str, str] | None = None) -> str:
    return (
        "no API key found: run `memory login --url URL` (it checks the key and saves it), "
        f'set MEMORY_API_KEY, put `api_key = "..."` in {config_file(env)}, or run the server '
        f"locally (`make run`), which saves its admin key to {admin_key_file(env)}"
    )


def agent_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a hook or MCP server started by an agent may have: `env` without the
    user's shell variables (MEMORY_*, XDG_*), only where home is."""
    env = os.environ if env is None else env
    return {name: env[name] for name in _AGENT_VARIABLES if env.get(name)}


def _setting_line(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{name}\s*=")


def save(values: Mapping[str, str], env: Mapping[str, str] | None = None) -> Path:
    """Sets `url` and/or `api_key` in the config file (created with mode 0600, and made 0600
    if it was readable by others), keeping its other lines and comments. Returns the file."""
    path = config_file(env)
    _read_config_file(path)  # a file that does not parse is reported, never overwritten
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    # Top-level keys live before the first table header.
    end = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    for name, value in values.items():
        if name not in SETTINGS:
            raise ConfigurationError(f"unknown setting {name!r}; choose from {', '.join(SETTINGS)}")
        line = f"{name} = {json.dumps(value)}"  # a JSON string is a valid TOML basic string
        at = next((i for i in range(end) if _setting_line(name).match(lines[i])), None)
        if at is None:
            lines.insert(end, line)
            end += 1
        else:
            lines[at] = line
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what is written reads back
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
