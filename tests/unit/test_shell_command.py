"""The shell command analysis behind command-time warnings (memory_service/recall/shell.py) and
the literal-match rule (memory_service/recall/command.py), without a database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_service.recall.command import matched_terms
from memory_service.recall.shell import analyze, split_commands, tokens

DATA = Path(__file__).resolve().parents[1] / "data" / "commands_eval.json"


@pytest.mark.parametrize(
    ("command", "phrases", "identifiers"),
    [
        ("terraform apply -target=module.network", ["terraform apply"], ["module.network"]),
        ("python manage.py migrate", ["manage.py migrate"], []),
        ("python -m alembic upgrade head", ["alembic upgrade"], []),
        ("kubectl delete namespace staging", ["kubectl delete"], []),
        ("./scripts/deploy.sh prod", ["scripts/deploy.sh prod"], ["scripts/deploy.sh"]),
        ("bash scripts/deploy.sh", ["scripts/deploy.sh"], []),
        ("uv lock --upgrade", ["uv lock"], ["--upgrade"]),
        ("mix release --overwrite", ["mix release"], ["--overwrite"]),
        # Wrappers, environment assignments and runners are not the program.
        ("sudo -u deploy AWS_PROFILE=prod terraform apply", ["terraform apply"], []),
        ("env FOO=1 timeout 30 npx prisma migrate deploy", ["prisma migrate"], []),
        ("uv run alembic downgrade -1", ["alembic downgrade"], []),
        # Flags with values, -D/-P properties, URLs without their scheme.
        ("cmake -B build -DJUCE_COPY_PLUGIN_AFTER_BUILD=ON", [], ["JUCE_COPY_PLUGIN_AFTER_BUILD"]),
        (
            "./gradlew assembleRelease -Pandroid.enableR8.fullMode=false",
            [],
            ["assembleRelease", "android.enableR8.fullMode"],
        ),
        (
            "curl -X POST https://fcm.googleapis.com/fcm/send -H 'Authorization: key=abc'",
            [],
            ["fcm.googleapis.com/fcm/send", "fcm.googleapis.com"],
        ),
        # What is echoed into a file is what the file will hold.
        (
            "echo 'android.enableR8.fullMode=false' >> gradle.properties",
            [],
            ["gradle.properties", "android.enableR8.fullMode"],
        ),
        # A path names itself, its top folders and a distinctive file name.
        (
            "sed -i 's/a/b/' assets/levels/cave_03.json",
            [],
            ["assets/levels/cave_03.json", "assets/levels", "cave_03.json"],
        ),
    ],
)
def test_programs_subcommands_and_identifiers(
    command: str, phrases: list[str], identifiers: list[str]
) -> None:
    terms = analyze(command)
    assert list(terms.phrases) == phrases
    assert [i for i in identifiers if i not in terms.identifiers] == []


@pytest.mark.parametrize(
    "command",
    [
        "ls -la",
        "git status",
        "git log --oneline -20",
        "git diff HEAD~1 -- src/app.py",
        "cat foo.py",
        "cd src",
        'grep -rn "TODO" .',
        "pytest -x",
        "kubectl get pods -n staging",
        "docker ps -a",
        "terraform plan",
        "vim src/main.py",
        "ls | grep foo && cd src; pwd",
        "echo hello > /dev/null",
    ],
)
def test_commands_that_only_read_have_no_terms(command: str) -> None:
    assert analyze(command).empty


def test_noise_is_left_out() -> None:
    # Commit messages and other free text, secrets in flags, common flags, plain words and
    # names every project has.
    terms = analyze(
        'git commit -m "fix the uv lock --upgrade mess" && mysql -p hunter2 '
        "&& rm -rf node_modules dist && npm install --save-dev --verbose"
    )
    joined = " ".join(terms.terms)
    for noise in ("upgrade", "hunter2", "node_modules", "dist", "--save-dev", "--verbose"):
        assert noise not in joined
    assert "git commit" in terms.phrases and "npm install" in terms.phrases


def test_operators_quotes_and_redirections() -> None:
    assert tokens("a && b | c; d || e") == ["a", "&&", "b", "|", "c", ";", "d", "||", "e"]
    assert tokens("echo 'x y' \"z\"") == ["echo", "x y", "z"]
    assert split_commands(tokens("make build > out/log.txt 2>&1")) == [
        (["make", "build", "2"], ["out/log.txt"])
    ]
    # Several lines are several commands.
    assert [t.program for t in analyze("make deploy\nterraform apply").segments] == [
        "make",
        "terraform",
    ]


@pytest.mark.parametrize(
    "command", ['echo "unbalanced', "terraform apply 'module", "\\", "'''", '"', "&&", "|||;;"]
)
def test_unbalanced_quotes_and_odd_input_do_not_raise(command: str) -> None:
    analyze(command)


def test_a_command_run_by_a_shell_is_read_too() -> None:
    terms = analyze("bash -c 'cd infra && terraform apply -target=module.network'")
    assert terms.phrases == ("terraform apply",) and "module.network" in terms.identifiers
    assert analyze("sh -c 'ls -la | grep x'").empty


def test_unbalanced_quotes_still_find_the_program() -> None:
    assert analyze("terraform apply -target='module.network").phrases == ("terraform apply",)


def test_a_term_matches_as_a_whole_token() -> None:
    terms = analyze("mix release")
    assert matched_terms("`mix release` ignores edits to `rel/env.sh.eex`", terms)
    assert not matched_terms("we remix releases weekly", terms)
    # A name inside a dotted one is another thing: `httpx` is not `httpx.AsyncClient`.
    assert not matched_terms("Don't create an `httpx.AsyncClient` per request", analyze("x ab_c"))
    assert matched_terms("see `config/models.yaml`.", analyze("kubectl cp config/models.yaml p:/"))


def test_a_phrase_written_with_flags_needs_the_flags() -> None:
    text = "Don't run `uv lock --upgrade` as part of an unrelated PR"
    assert not matched_terms(text, analyze("uv lock"))
    assert matched_terms(text, analyze("uv lock --upgrade"))


def test_the_evaluation_commands_are_plenty_and_distinct() -> None:
    data = json.loads(DATA.read_text())
    assert len(data["everyday"]) >= 200 and len(set(data["everyday"])) == len(data["everyday"])
    assert len(data["matching"]) >= 25
    assert all(m["relevant"] and m["project"] for m in data["matching"])
