"""What this client knows of agent-handoff (github.com/zzyyfff/agent-handoff), the file-based
handoff tool teams move over from: how it names a project's folder, and how its Claude Code
SessionStart hook is wired.

Its inbox is `~/.agent-handoffs/<canonical-slug>/<recipient>/{unread,read}/*.md`
(`$AGENT_HANDOFF_ROOT` moves it). The canonical slug is the absolute path of the worktree's
top level with a worktree suffix taken off its last part (`-worker[N]`, `-dev-preview`,
`-preview`, `-wt[N]`), every `/` made a `-` and the leading `-` dropped:
`/home/me/work/widgets-wt2` -> `home-me-work-widgets`. The recipient folder is the receiving
worktree's basename, suffix kept. Its SessionStart hook prints each unread file, stamps
`received_at` into the front matter and moves it to `read/` (with a `-<hex>` suffix when that
name is taken); files whose name starts with `.` (its temporary and claimed files) are not
handoffs.

A slug cannot be turned back into a path by itself (a dash may be a `/` or part of a name), so
`resolve_folder` looks on disk for the paths it can stand for."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_client.workspace import detect

ROOT_VARIABLE = "AGENT_HANDOFF_ROOT"
# The end of the command its installers (bin/install, bin/install-into-project) write into
# `.hooks.SessionStart` of a Claude Code settings file, and (bin/install) of Codex's
# `~/.codex/hooks.json`, which has the same shape; its own installer finds them the same way.
HOOK_SIGNATURE = "/adapters/claude-code/hooks/surface-handoffs.sh"
CODEX_HOOK_SIGNATURE = "/adapters/codex-cli/hooks/surface-handoffs.sh"
# Ways of reading a folder name's dashes tried at most: a name with many dashes and many
# matching folders cannot make the import crawl the disk.
MAX_CANDIDATES = 64


def default_root(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ROOT_VARIABLE):
        return Path(env[ROOT_VARIABLE]).expanduser()
    return Path(env.get("HOME") or Path.home()) / ".agent-handoffs"


def strip_worktree_suffix(name: str) -> str:
    """agent-handoff's rule, in its order: `-dev-preview`, `-preview`, `-worker[N]`, `-wt[N]`."""
    for suffix in ("-dev-preview", "-preview"):
        name = name.removesuffix(suffix)
    name = re.sub(r"-worker[0-9]*$", "", name)
    return re.sub(r"-wt[0-9]*$", "", name)


def folder_name(worktree: Path) -> str:
    """The folder agent-handoff keeps a worktree's handoffs in (its canonical slug)."""
    path = Path(worktree)
    canonical = path.parent / strip_worktree_suffix(path.name)
    return str(canonical).replace("/", "-").lstrip("-")


def _readings(base: Path, parts: list[str], found: list[Path]) -> None:
    """Every existing folder `parts` can stand for below `base`, each dash read as `/` or as a
    dash; only folders that exist are walked into, so the cost follows the disk, not 2^n."""
    if len(found) >= MAX_CANDIDATES:
        return
    if not parts:
        found.append(base)
        return
    for end in range(1, len(parts) + 1):
        name = "-".join(parts[:end])
        if name in ("", ".", ".."):
            continue
        child = base / name
        if child.is_dir():
            _readings(child, parts[end:], found)


def candidate_paths(folder: str, recipients: Iterable[str] = ()) -> list[Path]:
    """The existing folders `folder` can be the canonical slug of. The canonical path itself
    may not exist when every worktree has a suffix (`billing-dev-preview`): then the paths
    where a recipient's suffix is put back on the last part are tried too."""
    names = [folder]
    for recipient in sorted(set(recipients)):
        stem = strip_worktree_suffix(recipient)
        if stem != recipient and (folder == stem or folder.endswith(f"-{stem}")):
            names.append(folder[: len(folder) - len(stem)] + recipient)
    found: list[Path] = []
    for name in names:
        _readings(Path("/"), name.split("-"), found)
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Resolution:
    """A folder's project, or None and why not."""

    folder: str
    project: str | None
    detail: str  # where the project came from, or why there is none


def resolve_folder(folder: str, recipients: Iterable[str] = ()) -> Resolution:
    """The project of an agent-handoff folder: the `origin` remote of the git repository at
    the path it stands for (`memory handoff write` run there would use the same project).
    None when no such repository is on this machine, or when two paths it can stand for are
    repositories of different projects."""
    projects: dict[str, list[Path]] = {}
    paths = candidate_paths(folder, recipients)
    for path in paths:
        ws = detect(path)
        # The repository's own top level only: a folder inside another repository (a home
        # directory kept in git, say) is not that repository.
        if ws.in_git and ws.root.resolve() == path.resolve():
            projects.setdefault(ws.project, []).append(path)
    if len(projects) == 1:
        [(project, where)] = projects.items()
        return Resolution(folder, project, f"the repository at {where[0]}")
    if projects:
        seen = "; ".join(f"{p} at {', '.join(map(str, w))}" for p, w in sorted(projects.items()))
        return Resolution(folder, None, f"ambiguous: it can stand for {seen}")
    guess = "/" + folder.replace("-", "/")
    if paths:
        listed = ", ".join(map(str, paths[:3]))
        return Resolution(folder, None, f"no git repository at {listed}")
    return Resolution(
        folder, None, f"no repository on this machine at {guess} or another reading of its dashes"
    )


# --- its SessionStart hooks (Claude Code, Codex) ------------------------------------------------


def is_hook(hook: Any) -> bool:
    """An agent-handoff SessionStart handler (`{"type": "command", "command": ".../adapters/
    claude-code/hooks/surface-handoffs.sh"}`, or its codex-cli twin), wherever its clone is."""
    if not isinstance(hook, dict) or not isinstance(hook.get("command"), str):
        return False
    command: str = hook["command"].strip().strip("'\"")
    return command.endswith((HOOK_SIGNATURE, CODEX_HOOK_SIGNATURE))


def hooks_in(settings: Mapping[str, Any]) -> list[str]:
    """The commands of agent-handoff's SessionStart hooks in a settings file: in matcher
    groups (`{"hooks": [...]}`), and the flat entries its older per-project installer wrote."""
    hooks = settings.get("hooks")
    groups = hooks.get("SessionStart") if isinstance(hooks, dict) else None
    found: list[str] = []
    for entry in groups if isinstance(groups, list) else []:
        inner = entry.get("hooks") if isinstance(entry, dict) else None
        for hook in _handlers(entry, inner):
            if is_hook(hook):
                found.append(hook["command"])
    return found


def _handlers(entry: Any, inner: Any) -> Iterator[Any]:
    if isinstance(inner, list):
        yield from inner
    else:
        yield entry  # a flat `{type, command}` entry


def remove_hooks(settings: dict[str, Any]) -> list[str]:
    """Takes agent-handoff's SessionStart handlers out of `settings`, in place, and returns
    their commands. Everything else stays: other handlers of a group it shared, other groups,
    other events. A group (or `SessionStart`, or `hooks`) is dropped only when nothing but
    agent-handoff was left in it."""
    hooks = settings.get("hooks")
    groups = hooks.get("SessionStart") if isinstance(hooks, dict) else None
    if not isinstance(hooks, dict) or not isinstance(groups, list):
        return []
    removed: list[str] = []
    kept: list[Any] = []
    for entry in groups:
        inner = entry.get("hooks") if isinstance(entry, dict) else None
        if isinstance(inner, list):
            ours = [h for h in inner if is_hook(h)]
            if ours:
                removed += [h["command"] for h in ours]
                rest = [h for h in inner if not is_hook(h)]
                if not rest:
                    continue
                entry = {**entry, "hooks": rest}
        elif is_hook(entry):
            removed.append(entry["command"])
            continue
        kept.append(entry)
    if removed:
        if kept:
            hooks["SessionStart"] = kept
        else:
            del hooks["SessionStart"]
            if not hooks:
                del settings["hooks"]
    return removed


def retire_hooks(
    path: Path, settings: dict[str, Any], agent: str, replace: bool, done: list[str]
) -> bool:
    """Reports agent-handoff's SessionStart hooks in `settings` (read from `path`, a settings
    file of `agent`), or takes them out with `replace`; True when `settings` changed."""
    if not replace:
        for found in hooks_in(settings):
            done.append(
                f"agent-handoff's SessionStart hook `{found}` is also in {path}: it delivers "
                "handoffs from ~/.agent-handoffs, beside memory's. Bring them over with "
                f"`memory import ~/.agent-handoffs`, then retire it: `memory install {agent} "
                "--replace-agent-handoff` removes exactly that entry (or delete it by hand)"
            )
        return False
    removed = remove_hooks(settings)
    for found in removed:
        done.append(f"removed agent-handoff's SessionStart hook `{found}` from {path}")
    return bool(removed)
