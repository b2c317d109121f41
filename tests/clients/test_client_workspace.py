"""Project, worktree, branch and HEAD from git; server and key from env, file or the local
server's saved admin key."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_client.config import resolve
from memory_client.workspace import check_project_slug, detect, local_slug, normalize_remote

from memory_service.names import check_project_slug as server_check
from tests.clients.helpers import git, make_repo


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("git@github.com:org/repo.git", "github.com/org/repo"),
        ("https://user@github.com/org/repo", "github.com/org/repo"),
        ("https://user:token@github.com/org/repo.git/", "github.com/org/repo"),
        ("ssh://git@host:22/org/repo.git", "host/org/repo"),
        ("ssh://git@GitHub.com/Org/Repo", "github.com/Org/Repo"),
        ("git://gitlab.example.com/group/sub/project.git", "gitlab.example.com/group/sub/project"),
        ("github.com:org/my repo.git", "github.com/org/my-repo"),
        ("/srv/git/repo.git", None),
        ("../sibling", None),
        ("file:///srv/git/repo.git", None),
        ("C:\\code\\repo", None),
    ],
)
def test_normalize_remote(url: str, slug: str | None) -> None:
    assert normalize_remote(url) == slug
    if slug is not None:
        assert server_check(slug) == slug


@pytest.mark.parametrize("name", ["repo", "my repo", "répo", "..", ".hidden", "a/b", ""])
def test_local_slugs_pass_the_server_rules(name: str) -> None:
    slug = local_slug(name)
    assert slug.startswith("local/")
    assert server_check(slug) == check_project_slug(slug)


def test_detect_from_a_checkout(repo: Path) -> None:
    ws = detect(repo / ".")
    assert (ws.project, ws.worktree, ws.branch) == ("github.com/acme/widgets", "widgets", "main")
    assert ws.head == git(repo, "rev-parse", "HEAD") and ws.in_git
    (repo / "sub").mkdir()
    assert detect(repo / "sub").worktree == "widgets"

    git(repo, "checkout", "-q", "--detach")
    assert detect(repo).branch is None


def test_detect_without_remote_and_in_linked_worktrees(tmp_path: Path) -> None:
    main = make_repo(tmp_path / "tools", remote=None)
    linked = tmp_path / "tools-feature"
    git(main, "worktree", "add", "-q", "-b", "feature", str(linked))
    assert detect(main).project == "local/tools"
    # A linked worktree has its own inbox but belongs to the same project.
    other = detect(linked)
    assert (other.project, other.worktree, other.branch) == (
        "local/tools",
        "tools-feature",
        "feature",
    )

    empty = tmp_path / "fresh"
    empty.mkdir()
    git(empty, "init", "-q")
    ws = detect(empty)
    assert (ws.project, ws.worktree, ws.head) == ("local/fresh", "fresh", None)

    plain = tmp_path / "notes"
    plain.mkdir()
    ws = detect(plain)
    assert (ws.project, ws.worktree, ws.in_git) == ("local/notes", "notes", False)


def test_lone_non_origin_remote_is_used(tmp_path: Path) -> None:
    path = make_repo(tmp_path / "w", remote=None)
    git(path, "remote", "add", "upstream", "https://github.com/acme/w.git")
    assert detect(path).project == "github.com/acme/w"


def test_config_resolution_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "admin_key").write_text("mem_saved_key\n")
    config = tmp_path / "config.toml"
    env = {"HOME": str(tmp_path), "MEMORY_DATA_DIR": str(data), "MEMORY_CONFIG": str(config)}

    found = resolve(env)
    assert (found.url, found.api_key) == ("http://127.0.0.1:8765", "mem_saved_key")
    assert found.key_source == str(data / "admin_key")
    assert resolve({**env, "MEMORY_PORT": "9000", "MEMORY_HOST": "0.0.0.0"}).url.endswith(":9000")  # noqa: S104

    config.write_text('url = "https://memory.example.com/"\napi_key = "mem_from_file"\n')
    found = resolve(env)
    assert (found.url, found.api_key) == ("https://memory.example.com", "mem_from_file")

    found = resolve({**env, "MEMORY_URL": "http://env:1", "MEMORY_API_KEY": "mem_env"})
    assert (found.url, found.api_key, found.key_source) == (
        "http://env:1",
        "mem_env",
        "MEMORY_API_KEY",
    )

    # Without MEMORY_CONFIG, the file lives in the user's config dir under HOME.
    default = tmp_path / ".config" / "memory" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text('api_key = "mem_home"\n')
    assert resolve({"HOME": str(tmp_path), "MEMORY_DATA_DIR": str(data)}).api_key == "mem_home"

    default.unlink()
    assert (
        resolve({"HOME": str(tmp_path), "MEMORY_DATA_DIR": str(tmp_path / "none")}).api_key is None
    )
