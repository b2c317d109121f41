"""Secrets that identify themselves by their shape: private key blocks, JWTs and provider tokens
with a prefix (`glpat-`, `xoxb-`, `sk_live_`, ...).

Where detect-secrets has a plugin for a format and every quantifier of its patterns is
bounded, its patterns are used as they are (`LIBRARY`): AWS, Azure storage, Discord, GitHub,
GitLab, Mailchimp, SendGrid, Square, Stripe, Telegram and Twilio. Its other plugins (JWT, npm,
OpenAI, Slack, PyPI, Artifactory, basic auth, keyword, IBM, SoftLayer, Cloudant) have patterns
with unbounded or nested repetition, some quadratic on a long run of their own characters,
which this request path cannot afford; those formats, and the many the library does not know,
are covered by `OWN` below.

Library patterns carry no word boundaries and stop at a fixed length, so a match is only taken
when it starts a token, and is stretched to the end of the token it starts: `sk_live_` plus 24
characters would otherwise leave the rest of a 99-character key behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from memory_service.hygiene.redaction.engine import Hit, Rule, Stage, always, contains_any

_TOKEN_CHAR = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_MAX_STRETCH = 512


class LibraryPlugin:
    """One detect-secrets plugin used as a stage: its patterns, our kind and token rules."""

    def __init__(
        self,
        plugin: type[RegexBasedDetector],
        kind: str | Callable[[str], str],
        *,
        strip_prefix: str = "",
        group: int = 0,
        extra_chars: str = "",
        needs: tuple[str, ...] = (),
    ) -> None:
        self.plugin = plugin
        self.name = plugin.__name__
        self.patterns: tuple[re.Pattern[str], ...] = tuple(plugin.denylist)  # type: ignore[arg-type]
        self._kind = kind
        self._strip_prefix = strip_prefix
        self._group = group
        self._chars = _TOKEN_CHAR | frozenset(extra_chars)
        self._needs = needs  # as Rule.needs: literals one of which every match contains

    def __call__(self, text: str) -> Iterator[Hit]:
        if self._needs and not contains_any(text, self._needs):
            return
        for pattern in self.patterns:
            for match in pattern.finditer(text):
                group = self._group if self._group <= (match.re.groups or 0) else 0
                start, end = match.span(group)
                secret = text[start:end]
                if self._strip_prefix and secret.startswith(self._strip_prefix):
                    start += len(self._strip_prefix)
                # Never start on a separator a pattern may have taken in front of the token.
                while start < end and text[start] not in self._chars:
                    start += 1
                if start > 0 and text[start - 1] in self._chars and group == 0:
                    continue  # the middle of a longer token: not this format
                limit = min(len(text), end + _MAX_STRETCH)
                while end < limit and text[end] in self._chars:
                    end += 1
                kind = self._kind if isinstance(self._kind, str) else self._kind(text[start:end])
                yield Hit(kind, start, end, start)


def _aws_kind(secret: str) -> str:
    return "aws_access_key" if len(secret) == 20 else "aws_secret_key"


LIBRARY: tuple[LibraryPlugin, ...] = (
    LibraryPlugin(
        AWSKeyDetector,
        _aws_kind,
        group=1,
        extra_chars="+/",
        needs=("AKIA", "ASIA", "ABIA", "ACCA", "A3T", "aws"),
    ),
    LibraryPlugin(
        AzureStorageKeyDetector,
        "azure_storage_key",
        strip_prefix="AccountKey=",
        extra_chars="+/=",
        needs=("AccountKey=",),
    ),
    LibraryPlugin(DiscordBotTokenDetector, "discord_bot_token", needs=(".",)),
    LibraryPlugin(
        GitHubTokenDetector, "github_token", needs=("ghp_", "gho_", "ghu_", "ghs_", "ghr_")
    ),
    LibraryPlugin(GitLabTokenDetector, "gitlab_token", needs=("gl", "GR1348941")),
    LibraryPlugin(MailchimpDetector, "mailchimp_api_key", needs=("-us",)),
    LibraryPlugin(SendGridDetector, "sendgrid_api_key", needs=("SG.",)),
    LibraryPlugin(SquareOAuthDetector, "square_token", needs=("sq0csp-",)),
    LibraryPlugin(StripeDetector, "stripe_key", needs=("k_live_",)),
    LibraryPlugin(TelegramBotTokenDetector, "telegram_bot_token", needs=(":",)),
    LibraryPlugin(TwilioKeyDetector, "twilio_key", needs=("AC", "SK")),
)


# Whole PEM/OpenSSH/PGP private key blocks, END line included. A paste cut off before the END
# line still loses its base64 body. The body never contains "-----", which keeps a run of BEGIN
# lines without END from being rescanned to the 16 KB bound each time. JSON-escaped blocks
# (`"-----BEGIN PRIVATE KEY-----\nMIIE...`, as in a GCP service-account file) match too.
PRIVATE_KEY = Rule(
    re.compile(
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:(?:[^-]|-(?!----)){0,16384}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:[ \t]{0,8}(?:\n|\\n)[ \t]{0,8}[A-Za-z0-9+/=]{16,100}){1,400})"
        # PuTTY key files: the private lines follow a count.
        r"|Private-Lines:[ \t]{0,4}\d{1,3}(?:[ \t]{0,8}\n[A-Za-z0-9+/=]{8,100}){1,400}"
    ),
    always("private_key"),
    needs=("PRIVATE KEY", "Private-Lines"),
)

JWT = Rule(
    re.compile(
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{8,8192}"
        r"\.[A-Za-z0-9_-]{0,2048}"
    ),
    always("jwt"),
    needs=("eyJ",),
)

# The token starts and ends here. "-" counts as part of a token, so that a run such as
# `sk-sk-sk-...` has one start, not one per dash, each rescanning the run.
_B = r"(?<![A-Za-z0-9_-])"
_E = r"(?![A-Za-z0-9_-])"
_DOTTED = r"(?:\.[A-Za-z0-9_-]{1,200}){0,4}"  # new GitLab tokens: glpat-<id>.01.<suffix>

# kind -> token shapes. Lengths are lower bounds from the providers' documentation with room
# to grow (providers lengthen tokens, they rarely shorten them).
_OWN_FORMATS: dict[str, str] = {
    "github_token": r"gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}",
    "gitlab_token": (
        r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|ffct|feed|cd|wt)-[A-Za-z0-9_-]{20,1024}"
        + _DOTTED
        + r"|GR1348941[A-Za-z0-9_-]{20,64}"
    ),
    "slack_token": r"(?:xox[abceoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{10,250}",
    "stripe_key": r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,255}",
    "stripe_webhook_secret": r"whsec_[A-Za-z0-9+/=]{24,128}",
    "anthropic_api_key": r"sk-ant-(?:api|admin|oat|sid)\d\d-[A-Za-z0-9_-]{20,300}",
    "openai_api_key": (
        r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,300}"
        r"|sk-[A-Za-z0-9_-]{0,40}T3BlbkFJ[A-Za-z0-9_-]{16,100}"
    ),
    # Other providers' sk- keys (DeepSeek, OpenRouter, ...). A digit is required so kebab-case
    # names starting with "sk-" stay; a random 20+ character key without one is very rare.
    "api_key": r"sk-(?=[A-Za-z0-9_-]{0,200}\d)[A-Za-z0-9_-]{20,200}",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}",
    "firebase_server_key": r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,300}",
    "google_oauth_secret": r"GOCSPX-[A-Za-z0-9_-]{24,40}",
    "google_oauth_token": r"ya29\.[A-Za-z0-9_-]{20,2048}|1//0[A-Za-z0-9_-]{40,512}",
    "huggingface_token": r"hf_[A-Za-z0-9]{30,100}|api_org_[A-Za-z0-9]{30,40}",
    "npm_token": r"npm_[A-Za-z0-9]{36,64}",
    "pypi_token": r"pypi-AgE[A-Za-z0-9_-]{40,2048}",
    "sendgrid_api_key": r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,64}",
    "brevo_api_key": r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}",
    "mailgun_api_key": r"key-[a-f0-9]{32}",
    "twilio_key": r"(?:SK|AC)[0-9a-fA-F]{32}",
    "shopify_token": r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
    "digitalocean_token": r"do[opr]_v1_[a-f0-9]{64}",
    "atlassian_api_token": r"AT(?:ATT|CTT)3[A-Za-z0-9_=-]{100,400}|ATBB[A-Za-z0-9]{32}",
    "linear_api_key": r"lin_(?:api|oauth)_[A-Za-z0-9]{40}",
    "notion_token": r"ntn_[A-Za-z0-9]{40,60}|secret_[A-Za-z0-9]{43}",
    "postman_api_key": r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}",
    "doppler_token": r"dp\.(?:st|ct|pt|sa|scim|audit)\.[A-Za-z0-9_.-]{40,200}",
    "grafana_token": r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/=]{32,400}",
    "databricks_token": r"dapi[a-f0-9]{32}(?:-\d)?",
    "groq_api_key": r"gsk_[A-Za-z0-9]{48,60}",
    "replicate_token": r"r8_[A-Za-z0-9]{37}",
    "xai_api_key": r"xai-[A-Za-z0-9]{60,100}",
    "terraform_token": r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,100}",
    "age_secret_key": r"AGE-SECRET-KEY-1[0-9A-Z]{58}",
    "newrelic_key": r"NR(?:AK|JS|II)-[A-Za-z0-9]{20,40}",
    "sentry_token": r"sntry[su]_[A-Za-z0-9+/=_]{40,400}",
    "vault_token": r"hv[sbr]\.[A-Za-z0-9_-]{24,300}",
    "artifactory_token": r"AKCp[A-Za-z0-9]{20,200}",
    "square_token": r"sq0(?:atp|csp)-[0-9A-Za-z_-]{22,60}|EAAA[A-Za-z0-9_-]{60}",
    "meta_access_token": r"EAA[A-Za-z0-9]{80,400}",
    "mapbox_token": r"sk\.eyJ[A-Za-z0-9_-]{20,300}\.[A-Za-z0-9_-]{10,100}",
    "azure_client_secret": r"[A-Za-z0-9][A-Za-z0-9_~.-]{2}[78]Q~[A-Za-z0-9_~.-]{31,34}",
    "twitter_bearer_token": r"A{20,24}[A-Za-z0-9%]{30,200}",
    "alibaba_access_key": r"LTAI[A-Za-z0-9]{12,20}",
    "heroku_api_key": r"HRKU-[A-Za-z0-9_-]{60,80}",
    "planetscale_token": r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}",
    "supabase_token": r"sbp_[a-f0-9]{40}",
    "figma_token": r"figd_[A-Za-z0-9_-]{40,100}",
    "netlify_token": r"nfp_[A-Za-z0-9]{36,48}",
    "render_api_key": r"rnd_[A-Za-z0-9]{32,48}",
    "circleci_token": r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}",
    "onepassword_token": r"ops_eyJ[A-Za-z0-9+/=_-]{50,2048}",
    "dynatrace_token": r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}",
    "aws_access_key": r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}",
}

# Formats whose secret is one part of a URL or an assignment.
# kind, pattern, literals one of which every match contains (lowercase: in any case)
_OWN_VALUE_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # AWS secret keys are 40 characters of base64 with no prefix: only recognisable by name.
    (
        "aws_secret_key",
        r"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)[\"']?\s{0,5}(?::=|=>|[:=])"
        r"\s{0,5}[\"']?(?P<val>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        ("secret",),
    ),
    (
        "slack_token",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<val>[A-Za-z0-9_/-]{8,300})",
        ("hooks.slack.com",),
    ),
    (
        "discord_webhook",
        r"discord(?:app)?\.com/api/webhooks/\d{5,25}/(?P<val>[A-Za-z0-9_-]{30,200})",
        ("/api/webhooks/",),
    ),
    (
        "azure_storage_key",
        r"(?i:AccountKey)=(?P<val>[A-Za-z0-9+/]{20,200}={0,2})",
        ("accountkey=",),
    ),
    (
        "azure_shared_access_key",
        r"(?i:SharedAccessKey|SharedSecretValue)=(?P<val>[A-Za-z0-9+/]{20,200}={0,2})",
        ("sharedaccesskey=", "sharedsecretvalue="),
    ),
    # Shared access signatures (Azure) and pre-signed URLs (S3, GCS): the signature is the
    # credential.
    (
        "url_signature",
        r"[?&](?i:sig|X-Amz-Signature|X-Goog-Signature|Signature)="
        r"(?P<val>[A-Za-z0-9%+/=_-]{16,600})",
        ("sig=", "signature="),
    ),
    (
        "npm_token",
        r"_authToken(?:\s{0,3}=\s{0,3}|[ \t]{1,3})(?P<val>[^\s\"'`$<{][^\s\"'`]{0,499})",
        ("_authToken",),
    ),
)

# One pattern for all of them. The boundary check and the first character come first so the
# engine skips the middle of every word and every non-word character at once; the alternatives
# carry no groups, so it tries each by its first character alone.
_FORMAT = re.compile(
    _B + "(?=[A-Za-z0-9])(?:" + "|".join(f"(?:{s})" for s in _OWN_FORMATS.values()) + ")" + _E
)
_FORMAT_KINDS = tuple((kind, re.compile(shape)) for kind, shape in _OWN_FORMATS.items())


def _format_kind(token: str) -> str:
    for kind, shape in _FORMAT_KINDS:
        if shape.fullmatch(token):
            return kind
    return "secret"  # not reached: every match is one of the shapes


OWN: tuple[Rule, ...] = (
    # One pattern: the boundary check first lets the engine skip the middle of every word
    # before it tries ~50 alternatives (twenty times faster than a boundary per alternative).
    Rule(_FORMAT, lambda m: Hit(_format_kind(m.group()), m.start(), m.end(), m.start())),
    *(Rule(re.compile(pattern), always(kind), needs) for kind, pattern, needs in _OWN_VALUE_RULES),
)


def stages() -> tuple[Stage, ...]:
    return (PRIVATE_KEY, JWT, *LIBRARY, *OWN)
