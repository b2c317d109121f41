"""Secret redaction and text sanitising."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from memory_service.handoffs.redaction import placeholder, redact
from memory_service.handoffs.sanitize import sanitize_text

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_eval.json"

# (input, expected output, expected counts)
POSITIVE: list[tuple[str, str, dict[str, int]]] = [
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAx1\nabc+/=\n"
        "-----END RSA PRIVATE KEY-----\nafter",
        "key:\n[REDACTED:private_key]\nafter",
        {"private_key": 1},
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5v "
        "-----END OPENSSH PRIVATE KEY----- joined onto one line by the parser",
        "[REDACTED:private_key] joined onto one line by the parser",
        {"private_key": 1},
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXabcdefghijklmnop\n"
        "-----END PGP PRIVATE KEY BLOCK-----",
        "[REDACTED:private_key]",
        {"private_key": 1},
    ),
    (
        "cut off: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBn\n"
        "oAoGCCqGSM49AwEHoUQDQgAEYD54V\n\nThe rest is prose.",
        "cut off: [REDACTED:private_key]\n\nThe rest is prose.",
        {"private_key": 1},
    ),
    (
        "AWS_ACCESS_KEY_ID=AKIAZ4FAKEKEY7Q2M9TX and ASIAY34FZKBOKMUTVV7A",
        "AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key] and [REDACTED:aws_access_key]",
        {"aws_access_key": 2},
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key = [REDACTED:aws_secret_key]",
        {"aws_secret_key": 1},
    ),
    (
        '"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
        '"SecretAccessKey": "[REDACTED:aws_secret_key]"',
        {"aws_secret_key": 1},
    ),
    (
        "ghp_Z8fakeT0kenQw3Er5Ty7Ui9Op1As2Df4Gh6J gho_abcdefghijklmnopqrstuvwxyz0123456789 "
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789 "
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "[REDACTED:github_token] [REDACTED:github_token] [REDACTED:github_token] "
        "[REDACTED:github_token]",
        {"github_token": 4},
    ),
    (
        "https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r",
        "https://x-access-token:[REDACTED:github_token]@github.com/o/r",
        {"github_token": 1},
    ),
    (
        "OPENAI_API_KEY=sk-fK3qW9zL2mV7tR4bN8cX1dY6hP0gS5jA3eU7iO2kM9nB4vC6",
        "OPENAI_API_KEY=[REDACTED:api_key]",
        {"api_key": 1},
    ),
    (
        "sk-proj-abcDEF123ghiJKL456mnoPQR789 sk-ant-api03-AbCdEf123456GhIjKl7890MnOp "
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "[REDACTED:api_key] [REDACTED:api_key] [REDACTED:api_key] [REDACTED:api_key]",
        {"api_key": 4},
    ),
    (
        "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp posted to "
        "https://hooks.slack.com/services/T0000/B0000/XXXXabcd1234",
        "[REDACTED:slack_token] posted to https://hooks.slack.com/services/[REDACTED:slack_token]",
        {"slack_token": 2},
    ),
    (
        "postgres://parley_app:Kx9fake-Pw2231@db-staging.kestrel.internal:5432/parley",
        "postgres://parley_app:[REDACTED:url_password]@db-staging.kestrel.internal:5432/parley",
        {"url_password": 1},
    ),
    (
        "(`https://ci-bot:Mg7fake-pass4410@maven.mossgrove.example/releases`) and redis://:pw99@c",
        "(`https://ci-bot:[REDACTED:url_password]@maven.mossgrove.example/releases`) and "
        "redis://:[REDACTED:url_password]@c",
        {"url_password": 2},
    ),
    (
        "curl -H 'Authorization: Bearer abcdefghijkl' -H \"authorization: Basic dXNlcjpwYXNz\"",
        "curl -H 'Authorization: Bearer [REDACTED:bearer_token]' "
        '-H "authorization: Basic [REDACTED:bearer_token]"',
        {"bearer_token": 2},
    ),
    (
        "Authorization: 9f8e7d6c5b4a and then bearer Zx81abcdQ0 in the log",
        "Authorization: [REDACTED:bearer_token] and then bearer [REDACTED:bearer_token] in the log",
        {"bearer_token": 2},
    ),
    (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNry",
        "Authorization: Bearer [REDACTED:jwt]",
        {"jwt": 1},
    ),
    (
        'password=hunter22 PASSWORD: "s3cr3t pass" DB_PASSWORD=correcthorse --password=abc12345',
        'password=[REDACTED:password] PASSWORD: "[REDACTED:password]" '
        "DB_PASSWORD=[REDACTED:password] --password=[REDACTED:password]",
        {"password": 4},
    ),
    (
        "api_key = 'abcd1234' X-Api-Key: Zq81kd02Lm client_secret=xyz987abc token=abcdefgh",
        "api_key = '[REDACTED:api_key]' X-Api-Key: [REDACTED:api_key] "
        "client_secret=[REDACTED:secret] token=[REDACTED:secret]",
        {"api_key": 2, "secret": 2},
    ),
    (
        '{"password": "it\'s me", \'secret\': \'say "hi"\', "refresh_token": "r1-abc"}',
        "{\"password\": \"[REDACTED:password]\", 'secret': '[REDACTED:secret]', "
        '"refresh_token": "[REDACTED:secret]"}',
        {"password": 1, "secret": 2},
    ),
    (
        "SECRET_KEY := s3cr3tvalue; access_token => 'tok_live_123'; ?token=abcd1234&page=2",
        "SECRET_KEY := [REDACTED:secret]; access_token => '[REDACTED:secret]'; "
        "?token=[REDACTED:secret]&page=2",
        {"secret": 3},
    ),
    (
        "mysql --password hunter2x --token abc123456",
        "mysql --password [REDACTED:password] --token [REDACTED:secret]",
        {"password": 1, "secret": 1},
    ),
    (
        "//npm.pkg.github.com/:_authToken=ghp_Z8fakeT0kenQw3Er5Ty7Ui9Op1As2Df4Gh6J",
        "//npm.pkg.github.com/:_authToken=[REDACTED:github_token]",
        {"github_token": 1},
    ),
    (
        "//registry.npmjs.org/:_authToken=a1b2c3d4-e5f6 and "
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "//registry.npmjs.org/:_authToken=[REDACTED:npm_token] and [REDACTED:npm_token]",
        {"npm_token": 2},
    ),
    (
        "session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_X ok",
        "session [REDACTED:jwt] ok",
        {"jwt": 1},
    ),
    (
        "ask alice.smith+ops@example.co.uk or Bob@Example.COM.",
        "ask [REDACTED:email] or [REDACTED:email].",
        {"email": 2},
    ),
]


@pytest.mark.parametrize(("text", "expected", "counts"), POSITIVE)
def test_redacts(text: str, expected: str, counts: dict[str, int]) -> None:
    assert redact(text) == (expected, counts)


NEGATIVE = [
    "The `password_hash` column uses argon2; `token_count` and `max_tokens=512` are limits.",
    "It now reads `${NPM_GITHUB_TOKEN}` and `_authToken=${NPM_TOKEN}`.",
    "The secret: cache the parsed template. Keep it secret. Secret Manager holds the rest.",
    "token: it expires after an hour; password: must be 12+ chars; api_key: required",
    "429 responses include `Retry-After` and `X-RateLimit-Remaining` headers.",
    "head 9e3b43ec0b66ab9c231122757aa573d80c0526a8, id 123e4567-e89b-12d3-a456-426614174000",
    "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    '`config :phoenix, :filter_parameters, ["password", "body", "attachments"]`',
    "the `MOSSGROVE_MAVEN_USER` and `MOSSGROVE_MAVEN_PASSWORD` Gradle properties",
    "api_key = settings.api_key; token = get_token(); secret_key = os.environ['SECRET_KEY']",
    "password: str = Field(...); if token == expected_token: return; token != None",
    'val apiKey = BuildConfig.API_KEY; token := os.Getenv("TOKEN")',
    "token: GITHUB_TOKEN, secret: ${{ secrets.X }}, password: '<your password>', pwd: ****",
    "password=\"\" and password='' and token=abc and password=changeme",
    "postgres://user:${DB_PASSWORD}@host/db, postgres://app:<password>@host, http://localhost:8080/x",
    "postgres://user:password@localhost/dev is the documented default",
    "Authorization: Bearer <api key> on every call; the `Authorization` header",
    "Authorization: none",
    "the bearer of bad news; Bearer authentication; bearer tokens expire",
    "git@github.com:org/repo.git, pnpm@9.12.3, lodash@4.17.21, @vee-validate/zod, @app.get('/')",
    "the task-sk-like name, sk-learn-style-kebab-case-name-without-digits, risk-averse",
    "ghp_short, xoxb-short, AKIA123, AKIAlowercase0000000",
    "Use `sk-` keys from the dashboard; `ghp_` prefixes mark classic tokens.",
    "API keys are stored as SHA-256 hashes with a short visible prefix (`qp_live_ab12...`).",
    "the token bucket lives in Redis; refresh the OAuth2 tokens from `Goth`.",
    "Events carry a hashed customer id (`sha256(customerId + ANALYTICS_SALT)`), never the email",
    "[REDACTED:password] and [REDACTED:email] are placeholders already",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == (text, {})


@pytest.mark.parametrize(("text", "expected", "counts"), POSITIVE)
def test_redacting_twice_changes_nothing(text: str, expected: str, counts: dict[str, int]) -> None:
    once, _ = redact(text)
    assert redact(once) == (once, {})


def test_placeholder_format() -> None:
    assert placeholder("api_key") == "[REDACTED:api_key]"


def test_counts_are_per_replacement() -> None:
    _, counts = redact("a@example.com b@example.com password=hunter22 AKIAZ4FAKEKEY7Q2M9TX")
    assert counts == {"email": 2, "password": 1, "aws_access_key": 1}


def test_secret_inside_markdown_code_span_and_parsed_learning() -> None:
    text = "- Removed `postgres://parley_app:Kx9fake-Pw2231@db-staging.kestrel.internal/parley`."
    redacted, counts = redact(text)
    assert "Kx9fake" not in redacted
    assert redacted.endswith("@db-staging.kestrel.internal/parley`.")
    assert counts == {"url_password": 1}


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "a." * 100_000,
        "a@" * 100_000,
        "a-" * 100_000,
        "password=" * 20_000,
        "password: " * 20_000,
        "-----BEGIN RSA PRIVATE KEY-----\n" * 6_000,
        "-----BEGIN RSA PRIVATE KEY-----" + "\nAAAAAAAAAAAAAAAAAAAA" * 10_000,
        "postgres://" * 20_000,
        "x://a:" * 30_000,
        "Authorization: " * 10_000,
        "Bearer " * 30_000,
        "eyJ" + "a" * 200_000,
        "eyJaaaaaaaaaa." * 15_000,
        "a@b" + ".c" * 100_000,
        'password="' + "a" * 200_000,
    ],
)
def test_adversarial_input_is_linear(text: str) -> None:
    # CPU time of this process, not wall time, which other processes on a shared machine
    # stretch; catastrophic backtracking on these inputs would take minutes.
    start = time.process_time()
    redact(text)
    assert time.process_time() - start < 2.0


def test_dev_set_secrets_never_survive() -> None:
    if not DEV_SET.exists():
        pytest.skip(f"dev set not found at {DEV_SET}")
    data = json.loads(DEV_SET.read_text())
    total: dict[str, int] = {}
    for handoff in data["handoffs"]:
        body, counts = redact(sanitize_text(handoff["body"]))
        for secret in data["secrets"]:
            assert secret not in body, (handoff["id"], secret)
        for kind, n in counts.items():
            total[kind] = total.get(kind, 0) + n
    # One replacement per planted secret, and nothing else in 25 handoffs of ordinary prose.
    assert total == {"url_password": 2, "api_key": 1, "github_token": 1, "aws_access_key": 1}
    # The password part of the URLs is the secret; the rest of the line stays readable.
    for part in ("Kx9fake-Pw2231", "Mg7fake-pass4410"):
        assert all(part not in redact(h["body"])[0] for h in data["handoffs"])


# --- sanitize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("\x1b[1;32;40mbold\x1b[K", "bold"),
        ("\x1b]0;window title\x07after", "after"),
        ("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPq#0;2;0;0;0\x1b\\dcs gone", "dcs gone"),
        ("\x1b(Bcharset", "charset"),
        ("\x1b=keypad\x1b>", "keypad"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("tab\tkept\nnewline kept", "tab\tkept\nnewline kept"),
        ("nul\x00 bel\x07 bs\x08 vt\x0b ff\x0c del\x7f c1\x85", "nul bel bs vt ff del c1"),
        ("lone escape\x1b\nhere\x1b", "lone escape\nhere"),
        ("unterminated \x1b]0;title\nnext line", "unterminated \nnext line"),
        ("bidi \u202eevil\u202c and \u2066isolate\u2069", "bidi evil and isolate"),
        ("\ufeffBOM", "BOM"),
        ("line\u2028separator", "line\nseparator"),
        (
            "emoji 👍🏽 and é and 中文 and zero\u200dwidth joiner",
            "emoji 👍🏽 and é and 中文 and zero\u200dwidth joiner",
        ),
    ],
)
def test_sanitize_text(raw: str, clean: str) -> None:
    assert sanitize_text(raw) == clean


def test_sanitize_is_idempotent_on_arbitrary_input() -> None:
    raw = "".join(chr(c) for c in range(0, 0x250)) + "\x1b[" + "\x1b]" + "\u202e"
    once = sanitize_text(raw)
    assert sanitize_text(once) == once
    assert all(c in "\n\t" or c.isprintable() or c == " " for c in once if ord(c) < 0xA0)
