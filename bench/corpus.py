"""Synthetic but realistic handoffs and queries for the benchmark.

Forty projects in eight domains, each handoff a markdown brief with the usual sections
(Decisions, What NOT to do, Assumptions, ...) of about ten bullets. Bullets combine templates
with domain vocabulary, random identifiers, numbers and reasons, so that two bullets from one
template still differ in most content words: the service links learnings whose embeddings are
at least 0.93 similar (same kind) as near-duplicates, and a corpus built from a few fixed
sentences would collapse into a handful of clusters and flatter every search number.

Everything is derived from one seed, so a rerun builds the same corpus.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    name: str
    components: tuple[str, ...]
    techs: tuple[str, ...]
    files: tuple[str, ...]
    errors: tuple[str, ...]
    metrics: tuple[str, ...]
    things: tuple[str, ...]
    commands: tuple[str, ...]
    envs: tuple[str, ...]
    ident_style: str  # how identifiers look in this domain's language


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "payments backend",
        (
            "the invoice service",
            "the ledger writer",
            "the refund worker",
            "the webhook consumer",
            "the billing cron",
            "the settlement exporter",
            "the tax calculator",
            "the checkout API",
            "the dunning job",
            "the payout scheduler",
        ),
        (
            "Postgres advisory locks",
            "Celery",
            "Stripe webhooks",
            "Redis streams",
            "SQLAlchemy",
            "pgbouncer in transaction mode",
            "idempotency keys",
            "decimal.Decimal",
        ),
        (
            "billing/ledger.py",
            "billing/refunds/tasks.py",
            "api/checkout/views.py",
            "payouts/scheduler.py",
            "tax/rules.yaml",
            "webhooks/stripe.py",
            "settlement/export.py",
            "migrations/0042_ledger_index.py",
        ),
        (
            "IntegrityError: duplicate key value",
            "SerializationFailure",
            "a double charge",
            "a deadlock detected",
            "currency rounding drift",
            "a 504 from the gateway",
            "an orphaned payout row",
            "stale exchange rates",
        ),
        (
            "p95 checkout latency",
            "refunds per minute",
            "ledger write time",
            "webhook lag",
            "failed payouts",
            "connection count",
        ),
        (
            "money amount",
            "webhook event",
            "refund request",
            "ledger entry",
            "invoice line",
            "payout batch",
        ),
        (
            "pytest tests/billing -x",
            "make migrate-check",
            "python -m billing.replay --dry-run",
            "pytest -k refunds",
            "alembic upgrade head",
            "locust -f load/checkout.py",
        ),
        ("staging", "production", "the sandbox account", "the EU region"),
        "python",
    ),
    Domain(
        "mobile app",
        (
            "the offline sync engine",
            "the push notification handler",
            "the login screen",
            "the image cache",
            "the onboarding flow",
            "the settings store",
            "the deep link router",
            "the background uploader",
            "the chat composer",
            "the map view",
        ),
        (
            "Room",
            "CoreData",
            "WorkManager",
            "SwiftUI",
            "Jetpack Compose",
            "Firebase Cloud Messaging",
            "Kotlin coroutines",
            "Combine",
        ),
        (
            "app/src/main/java/sync/SyncWorker.kt",
            "ios/App/Sync/SyncEngine.swift",
            "app/src/main/res/navigation/nav_graph.xml",
            "ios/App/Views/LoginView.swift",
            "app/build.gradle.kts",
            "ios/Podfile",
            "app/src/main/java/push/PushService.kt",
            "shared/src/commonMain/Store.kt",
        ),
        (
            "an ANR on older devices",
            "a main-thread disk read",
            "a crash on rotation",
            "a migration that dropped the local table",
            "duplicate notifications",
            "a memory leak in the adapter",
            "a stuck splash screen",
            "a 401 loop on token refresh",
        ),
        (
            "cold start time",
            "crash-free sessions",
            "APK size",
            "frame drops",
            "battery drain",
            "sync duration",
        ),
        (
            "local migration",
            "push payload",
            "deep link",
            "background task",
            "auth token",
            "image request",
        ),
        (
            "./gradlew testDebugUnitTest",
            "xcodebuild test -scheme App",
            "./gradlew lint",
            "fastlane beta",
            "./gradlew connectedCheck",
            "swift test",
        ),
        ("the internal track", "TestFlight", "the Pixel 4a test device", "iOS 16 simulators"),
        "kotlin",
    ),
    Domain(
        "data pipeline",
        (
            "the nightly ingest DAG",
            "the dedup stage",
            "the Kafka consumer group",
            "the warehouse loader",
            "the schema registry client",
            "the backfill job",
            "the partition compactor",
            "the metrics rollup",
            "the CDC connector",
            "the feature export",
        ),
        ("Airflow", "Spark", "dbt", "Parquet", "Kafka", "BigQuery", "Debezium", "Avro"),
        (
            "dags/nightly_ingest.py",
            "jobs/dedup/main.py",
            "models/marts/orders.sql",
            "connectors/cdc.json",
            "schemas/order_v3.avsc",
            "jobs/backfill/run.py",
            "dbt_project.yml",
            "jobs/compaction/compact.scala",
        ),
        (
            "an out-of-memory executor",
            "a skewed partition",
            "late-arriving events",
            "a schema evolution failure",
            "duplicate rows after retry",
            "a consumer rebalance storm",
            "a timezone off-by-one",
            "a silently truncated column",
        ),
        (
            "DAG runtime",
            "consumer lag",
            "rows per second",
            "shuffle size",
            "warehouse cost",
            "freshness",
        ),
        ("partition", "event batch", "schema change", "backfill window", "dedup key", "late event"),
        (
            "dbt build --select orders+",
            "pytest tests/jobs",
            "airflow dags test nightly_ingest",
            "spark-submit --deploy-mode client jobs/dedup/main.py",
            "make lint-sql",
            "kcat -C -t orders -o -10",
        ),
        ("the prod warehouse", "the staging cluster", "the replay topic", "the dev sandbox"),
        "python",
    ),
    Domain(
        "infrastructure",
        (
            "the ingress controller",
            "the cert renewal job",
            "the Terraform state",
            "the autoscaler",
            "the log shipper",
            "the DNS failover",
            "the secrets sync",
            "the node pool upgrade",
            "the backup cron",
            "the service mesh sidecar",
        ),
        (
            "Terraform",
            "Kubernetes",
            "Helm",
            "Prometheus",
            "nginx",
            "cert-manager",
            "ArgoCD",
            "Vault",
        ),
        (
            "infra/modules/vpc/main.tf",
            "charts/api/values.yaml",
            "k8s/ingress.yaml",
            "infra/envs/prod/backend.tf",
            "monitoring/alerts.yml",
            "argocd/apps/api.yaml",
            "scripts/rotate-certs.sh",
            "infra/modules/eks/node_groups.tf",
        ),
        (
            "a state lock that never released",
            "a crash-looping pod",
            "an expired certificate",
            "a 502 during rollout",
            "a drained node with no capacity",
            "a DNS TTL that was too long",
            "a leaked security group",
            "an alert storm",
        ),
        (
            "rollout time",
            "pod restarts",
            "p99 ingress latency",
            "monthly cloud cost",
            "alert count",
            "recovery time",
        ),
        ("Helm release", "Terraform plan", "node pool", "certificate", "alert rule", "rollout"),
        (
            "terraform plan -out plan.bin",
            "helm diff upgrade api charts/api",
            "kubectl rollout status deploy/api",
            "promtool check rules monitoring/alerts.yml",
            "make kind-test",
            "argocd app diff api",
        ),
        ("the prod cluster", "the staging cluster", "us-east-1", "the DR region"),
        "config",
    ),
    Domain(
        "web frontend",
        (
            "the checkout page",
            "the product grid",
            "the design system",
            "the search box",
            "the auth callback",
            "the dashboard charts",
            "the SSR layer",
            "the form validator",
            "the i18n loader",
            "the route prefetcher",
        ),
        (
            "React",
            "Next.js",
            "Vite",
            "Tailwind",
            "Storybook",
            "React Query",
            "Playwright",
            "TypeScript strict mode",
        ),
        (
            "src/pages/checkout.tsx",
            "src/components/ProductGrid.tsx",
            "src/lib/fetcher.ts",
            "next.config.js",
            "src/hooks/useSearch.ts",
            "playwright/checkout.spec.ts",
            "src/i18n/index.ts",
            "tailwind.config.ts",
        ),
        (
            "a hydration mismatch",
            "a layout shift on load",
            "an infinite re-render",
            "a stale cache entry",
            "a flaky end-to-end test",
            "a bundle size regression",
            "a CORS preflight failure",
            "a focus trap that locked the keyboard",
        ),
        (
            "largest contentful paint",
            "bundle size",
            "time to interactive",
            "test runtime",
            "error rate",
            "cumulative layout shift",
        ),
        (
            "query key",
            "server component",
            "form field",
            "route",
            "translation string",
            "feature flag",
        ),
        (
            "pnpm test",
            "pnpm playwright test",
            "pnpm build && pnpm size",
            "pnpm lint",
            "pnpm storybook:build",
            "pnpm tsc --noEmit",
        ),
        ("the preview deploy", "production", "Safari 16", "the staging CDN"),
        "typescript",
    ),
    Domain(
        "game",
        (
            "the save system",
            "the physics tick",
            "the inventory UI",
            "the shader cache",
            "the level streamer",
            "the input mapper",
            "the audio mixer",
            "the AI pathfinder",
            "the netcode rollback",
            "the achievement tracker",
        ),
        (
            "Unity",
            "Godot",
            "Addressables",
            "the job system",
            "HLSL shaders",
            "FMOD",
            "GDScript",
            "ECS",
        ),
        (
            "Assets/Scripts/Save/SaveManager.cs",
            "Assets/Scripts/Physics/Tick.cs",
            "scenes/level_03.tscn",
            "Assets/Shaders/Water.hlsl",
            "scripts/inventory.gd",
            "Assets/Scripts/Net/Rollback.cs",
            "ProjectSettings/InputManager.asset",
            "scripts/pathfinding/astar.gd",
        ),
        (
            "a corrupted save file",
            "a frame spike on level load",
            "a desync in multiplayer",
            "a shader compile stall",
            "a null reference after scene reload",
            "a physics explosion at low frame rate",
            "an audio pop on pause",
            "a softlock in the tutorial",
        ),
        (
            "frame time",
            "load time",
            "memory on console",
            "draw calls",
            "save size",
            "rollback frames",
        ),
        ("save slot", "scene", "shader variant", "input binding", "physics body", "asset bundle"),
        (
            "unity -batchmode -runTests -testPlatform EditMode",
            "godot --headless --script tests/run.gd",
            "make build-switch",
            "dotnet test Tests/",
            "make profile-level-3",
            "python tools/check_saves.py",
        ),
        ("the Switch devkit", "the Steam Deck", "the internal playtest build", "low settings"),
        "csharp",
    ),
    Domain(
        "machine learning",
        (
            "the training loop",
            "the eval harness",
            "the feature store",
            "the tokenizer",
            "the inference server",
            "the data loader",
            "the checkpoint sync",
            "the embedding index",
            "the labeling queue",
            "the drift monitor",
        ),
        (
            "PyTorch",
            "ONNX Runtime",
            "Hugging Face tokenizers",
            "Ray",
            "MLflow",
            "FAISS",
            "mixed precision",
            "gradient checkpointing",
        ),
        (
            "train/loop.py",
            "eval/harness.py",
            "features/store.py",
            "serve/app.py",
            "data/loader.py",
            "configs/base.yaml",
            "index/build_faiss.py",
            "monitor/drift.py",
        ),
        (
            "a NaN loss after warmup",
            "a silent label leak",
            "a tokenizer mismatch",
            "an OOM at batch 64",
            "a checkpoint that would not resume",
            "a train/serve skew",
            "a nondeterministic eval score",
            "a stuck data loader worker",
        ),
        (
            "validation loss",
            "tokens per second",
            "GPU memory",
            "eval accuracy",
            "p95 inference latency",
            "index build time",
        ),
        ("checkpoint", "feature", "batch", "prompt template", "eval split", "embedding"),
        (
            "pytest tests/train -q",
            "python -m eval.harness --split dev",
            "make smoke-train",
            "python serve/bench.py --n 500",
            "mlflow runs list",
            "python -m index.build --check",
        ),
        ("the A100 box", "the CPU-only CI runner", "the staging endpoint", "the nightly run"),
        "python",
    ),
    Domain(
        "cli tool",
        (
            "the config loader",
            "the file watcher",
            "the plugin registry",
            "the update checker",
            "the shell completion",
            "the cache directory",
            "the signal handler",
            "the progress renderer",
            "the lockfile writer",
            "the HTTP retry layer",
        ),
        ("Rust", "Go", "cargo", "goroutines", "clap", "cobra", "inotify", "tokio"),
        (
            "src/config.rs",
            "cmd/root.go",
            "src/watcher/mod.rs",
            "internal/cache/cache.go",
            "src/plugins/registry.rs",
            "Cargo.toml",
            "internal/lock/lockfile.go",
            "src/render/progress.rs",
        ),
        (
            "a race on the lockfile",
            "a panic on a broken pipe",
            "a zombie child process",
            "a watcher that missed renames",
            "a config precedence bug",
            "a hang on Ctrl-C",
            "a corrupted cache entry",
            "a Windows path separator bug",
        ),
        (
            "startup time",
            "binary size",
            "memory while watching",
            "test time",
            "files per second",
            "retry count",
        ),
        ("config key", "plugin", "cache entry", "subcommand", "signal", "lockfile"),
        (
            "cargo test --all-features",
            "go test ./...",
            "cargo clippy -- -D warnings",
            "go vet ./...",
            "hyperfine 'tool scan .'",
            "cargo nextest run",
        ),
        ("macOS", "Windows CI", "the musl build", "WSL2"),
        "rust",
    ),
)

ORGS = (
    "acme",
    "kestrel-works",
    "mossgrove",
    "northwind-labs",
    "bluefin",
    "orchard-io",
    "tidewater",
    "quarry",
)
REPO_WORDS = (
    "atlas",
    "beacon",
    "cinder",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "iris",
    "juniper",
    "kite",
    "lumen",
    "meridian",
    "nimbus",
    "onyx",
    "prism",
    "quill",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "vesper",
    "willow",
    "yarrow",
    "zephyr",
)
TOOLS = ("claude-code", "codex", "cursor", "copilot-cli")
VERBS = (
    "fetch",
    "sync",
    "load",
    "flush",
    "merge",
    "resolve",
    "build",
    "parse",
    "apply",
    "emit",
    "retry",
    "reconcile",
    "compact",
    "render",
    "validate",
    "schedule",
    "index",
    "drain",
    "encode",
    "rotate",
)
NOUNS = (
    "batch",
    "cursor",
    "ledger",
    "token",
    "snapshot",
    "manifest",
    "queue",
    "session",
    "payload",
    "window",
    "bucket",
    "shard",
    "slot",
    "frame",
    "config",
    "digest",
    "lease",
    "chunk",
    "route",
    "profile",
)
REASONS = (
    "it was {n}x slower under load",
    "the old path lost data when the process restarted",
    "two reviewers could not reproduce the old behaviour",
    "the vendor deprecated the previous API in {version}",
    "it kept the on-call pager quiet for a whole week",
    "the previous approach needed a manual step nobody remembered",
    "it cut {metric} from {a} to {b}",
    "the flaky test went away once the ordering was fixed",
    "otherwise retries produce duplicates",
    "the staging numbers were off by {n}%",
    "it is the only option that survives a restart mid-write",
    "it keeps the behaviour identical on every platform we ship",
    "the security review asked for it",
    "it halves the code we have to maintain",
    "the customer report on ticket {ticket} traced back to it",
    "the benchmark in {file} showed no regression",
)
MILESTONES = (
    "v{major}.{minor} ships",
    "the Q{q} migration is done",
    "ticket {ticket} closes",
    "the next release train",
    "the schema freeze",
    "the vendor contract renews",
)
UNITS = ("ms", "s", "MB", "%", "requests", "rows")


def _ident(rng: random.Random, style: str) -> str:
    verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
    suffix = rng.choice(("", "", f"_v{rng.randint(2, 5)}", f"{rng.randint(2, 99)}"))
    if style == "python":
        return rng.choice(
            (
                f"{verb}_{noun}{suffix}",
                f"{noun.title()}Service.{verb}",
                f"{verb}_{noun}_{rng.choice(NOUNS)}",
            )
        )
    if style in ("kotlin", "typescript", "csharp"):
        return rng.choice(
            (
                f"{verb}{noun.title()}{suffix.strip('_')}",
                f"{noun.title()}{rng.choice(NOUNS).title()}.{verb}",
                f"use{noun.title()}{verb.title()}",
            )
        )
    if style == "rust":
        return rng.choice(
            (
                f"{noun}::{verb}_{rng.choice(NOUNS)}",
                f"{verb}_{noun}{suffix}",
                f"{noun.title()}::{verb}",
            )
        )
    return rng.choice((f"{noun}_{verb}{suffix}", f"{verb}-{noun}", f"{noun}.{verb}_{noun}"))


def _flag(rng: random.Random) -> str:
    return f"{rng.choice(NOUNS)}_{rng.choice(VERBS)}_{rng.choice(('enabled', 'v2', 'beta'))}"


def _ticket(rng: random.Random) -> str:
    return f"{rng.choice(('OPS', 'BUG', 'PLAT', 'APP', 'DATA'))}-{rng.randint(100, 9999)}"


def _version(rng: random.Random) -> str:
    return f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"


def _sha(rng: random.Random) -> str:
    return "".join(rng.choices("0123456789abcdef", k=40))


# Templates per section. Slots: {component} {component2} {tech} {tech2} {ident} {ident2}
# {file} {error} {metric} {thing} {env} {command} {flag} {reason} {milestone} {n} {a} {b}
# {unit} {version} {ticket}.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "Decisions": (
        "{component} now uses {tech} instead of {tech2}; {reason}.",
        "`{ident}` stays in `{file}` behind the `{flag}` flag until {milestone}.",
        "The {metric} budget for {component} is {a} {unit}; the `{command}` check fails above it.",
        "Moved {thing} handling from {component} into {component2}; {reason}.",
        "`{ident}` returns an empty result instead of raising when the {thing} is missing; "
        "callers in {component} check for it.",
        "Every {thing} written by {component} carries a version number starting at {n}, "
        "because {reason}.",
        "We pin {tech} to {version} in {env}; {reason}.",
        "Retries in {component} use exponential backoff capped at {a} s with jitter; {reason}.",
        "{component2} reads {thing} data through `{ident2}` only, never straight from {tech}.",
        "Chose a per-{thing} lock in `{ident}` over a global one: contention dropped by {n}%.",
    ),
    "What NOT to do": (
        "Do not call `{ident}` outside {component}; it raised {error} in {env}.",
        "Don't upgrade {tech} past {version}: {error} showed up within {n} minutes in {env}.",
        "Never run `{command}` against {env}; it triggered {error} and took {a} minutes to "
        "recover.",
        "Avoid caching {thing} objects in {component}: it caused {error} after {n} requests.",
        "Do not reorder the steps in `{file}`; `{ident2}` depends on the {thing} being written "
        "first.",
        "Tried batching {thing} writes of {n} in {component}; it made {metric} worse by {b} "
        "{unit}, reverted.",
        "Don't mock {tech} in the {component2} tests: the mock hid {error} for two weeks.",
        "Skipping `{ident}` during a hot reload of {component} leaves a stale {thing}; "
        "{error} follows.",
        "Do not delete the `{flag}` flag yet: {env} still has {n} clients on the old path.",
        "Parallelising `{ident2}` across {n} workers deadlocked on {tech}; keep it serial.",
    ),
    "Assumptions": (
        "{env} still runs {tech} {version}; nothing in {component} was tested on newer ones.",
        "Clients keep sending the {thing} as a string until {milestone}.",
        "{component} sees at most {n} {thing} updates per second in {env}.",
        "`{ident}` is only ever called from {component2}, so it is not thread-safe.",
        "The {metric} numbers from {env} are representative of production traffic.",
        "Nobody outside {component} depends on the shape of `{file}`.",
    ),
    "Patterns": (
        "Every new {thing} in {component} goes through `{ident}`, which validates and logs it.",
        "Wrap calls to {tech} in `{ident2}` and record {metric} around them.",
        "Tests for {component} build their {thing} fixtures with `{ident}`; never by hand.",
        "Feature work on {component} starts behind a `{flag}` flag and ships dark first.",
        "Errors from {component2} are mapped to one error type in `{file}` before they reach "
        "callers.",
        "Name {thing} migrations after the ticket ({ticket}) and keep them reversible.",
    ),
    "Discovered": (
        "Root cause of {error} in {component}: `{ident}` read the {thing} before "
        "`{ident2}` committed it.",
        "{metric} of {component} went from {a} to {b} {unit} after switching to {tech}.",
        "{error} only happens in {env}, where {tech} runs with a different default.",
        "`{file}` is loaded twice at start-up, which explains the extra {a} {unit} in {metric}.",
        "The {thing} cache in {component2} is never invalidated on {tech} failover; that is "
        "where {error} came from.",
        "{component} spends {n}% of its time in `{ident}` according to the profile from {env}.",
    ),
    "Next steps": (
        "Finish the {thing} migration in `{file}`, then re-run `{command}`.",
        "Add a regression test for {error} in {component} before touching `{ident}` again.",
        "Ask the owners of {component2} whether `{ident2}` can be removed after {milestone}.",
        "Measure {metric} in {env} with the `{flag}` flag on for {n} hours.",
        "Port the {thing} validation from {component} to {component2}.",
    ),
    "Current state": (
        "{component} {thing} rework is merged on `{branch}`; {n} follow-up tickets remain.",
        "The {tech} upgrade is rolled out to {env}; {component2} is next.",
        "`{command}` passes locally; CI is still red on {env} because of {error}.",
    ),
}
# Bullets drawn per section: (min, max). About ten learnings per handoff on average.
SECTION_SIZES: dict[str, tuple[int, int]] = {
    "Decisions": (2, 3),
    "What NOT to do": (2, 3),
    "Assumptions": (0, 2),
    "Patterns": (1, 2),
    "Discovered": (1, 2),
    "Next steps": (1, 2),
    "Current state": (0, 1),
}
TOPIC_TEMPLATES = (
    "{thing} handling in {component}",
    "{tech} upgrade for {component}",
    "fixing {error} in {component}",
    "{metric} work on {component}",
    "cleanup of `{ident}`",
)


@dataclass(frozen=True)
class Project:
    slug: str
    domain: Domain
    worktrees: tuple[str, ...]


@dataclass(frozen=True)
class SyntheticHandoff:
    project: str
    worktree: str
    sender: str
    tool: str
    branch: str
    head: str
    topic: str
    created_at: datetime
    body: str
    # Historical handoffs were delivered long ago; only some are still waiting in an inbox.
    unread: bool
    identifiers: tuple[str, ...] = field(default=())

    def request(self) -> dict[str, Any]:
        """The JSON body of `POST /v1/handoffs`."""
        return {
            "project": self.project,
            "body": self.body,
            "recipient": self.worktree,
            "sender": self.sender,
            "tool": self.tool,
            "branch": self.branch,
            "head": self.head,
            "topic": self.topic,
            "created_at": self.created_at.isoformat(),
            "status": "unread" if self.unread else "read",
        }


def make_projects(rng: random.Random, count: int = 40) -> list[Project]:
    projects: list[Project] = []
    used: set[str] = set()
    while len(projects) < count:
        domain = DOMAINS[len(projects) % len(DOMAINS)]
        repo = "-".join(rng.sample(REPO_WORDS, 2))
        host = rng.choice(("github.com", "github.com", "gitlab.com"))
        slug = f"{host}/{rng.choice(ORGS)}/{repo}"
        if slug in used:
            continue
        used.add(slug)
        worktrees = (repo, *(f"{repo}-{w}" for w in rng.sample(("wt1", "fix", "exp"), 2)))
        projects.append(Project(slug, domain, worktrees))
    return projects


class _Slots(dict[str, str]):
    """Fresh values for each slot a template names (two draws of the same pool differ)."""

    def __init__(self, rng: random.Random, domain: Domain, branch: str) -> None:
        super().__init__()
        self.rng, self.domain, self.branch = rng, domain, branch
        self.identifiers: list[str] = []

    def __missing__(self, key: str) -> str:
        rng, d = self.rng, self.domain
        pick = rng.choice
        n_a, n_b = sorted(rng.sample(range(2, 900), 2))
        values: dict[str, Any] = {
            "component": lambda: pick(d.components),
            "component2": lambda: pick([c for c in d.components if c != self.get("component")]),
            "tech": lambda: pick(d.techs),
            "tech2": lambda: pick([t for t in d.techs if t != self.get("tech")]),
            "ident": lambda: _ident(rng, d.ident_style),
            "ident2": lambda: _ident(rng, d.ident_style),
            "file": lambda: pick(d.files),
            "error": lambda: pick(d.errors),
            "metric": lambda: pick(d.metrics),
            "thing": lambda: pick(d.things),
            "env": lambda: pick(d.envs),
            "command": lambda: pick(d.commands),
            "flag": lambda: _flag(rng),
            "n": lambda: str(rng.randint(2, 64)),
            "a": lambda: str(n_a),
            "b": lambda: str(n_b),
            "unit": lambda: pick(UNITS),
            "version": lambda: _version(rng),
            "ticket": lambda: _ticket(rng),
            "branch": lambda: self.branch,
            "reason": lambda: self._fill(pick(REASONS)),
            "milestone": lambda: self._fill(pick(MILESTONES)),
            "major": lambda: str(rng.randint(1, 6)),
            "minor": lambda: str(rng.randint(0, 20)),
            "q": lambda: str(rng.randint(1, 4)),
        }
        if key not in values:
            raise KeyError(key)
        value = str(values[key]())
        if key.startswith("ident"):
            self.identifiers.append(value)
        self[key] = value
        return value

    def _fill(self, template: str) -> str:
        return template.format_map(self)


def _fill(rng: random.Random, domain: Domain, branch: str, template: str) -> tuple[str, list[str]]:
    slots = _Slots(rng, domain, branch)
    text = template.format_map(slots)
    return text[0].upper() + text[1:], slots.identifiers


def make_handoff(rng: random.Random, project: Project, now: datetime) -> SyntheticHandoff:
    d = project.domain
    branch = (
        f"{rng.choice(('feat', 'fix', 'chore', 'perf'))}/{rng.choice(NOUNS)}-{rng.choice(VERBS)}"
    )
    topic, _ = _fill(rng, d, branch, rng.choice(TOPIC_TEMPLATES))
    lines = [f"# {topic}", ""]
    identifiers: list[str] = []
    for section, (low, high) in SECTION_SIZES.items():
        count = rng.randint(low, high)
        if count == 0:
            continue
        lines.append(f"## {section}")
        for template in rng.sample(TEMPLATES[section], count):
            text, idents = _fill(rng, d, branch, template)
            identifiers.extend(idents)
            lines.append(f"- {text}")
        lines.append("")
    # Not learnings (commands and files stay with the handoff), but every real handoff has them.
    lines.append("## Verification")
    lines.extend(
        f"- `{c}`: {rng.randint(3, 400)} passed, 0 failed" for c in rng.sample(d.commands, 2)
    )
    lines.append("")
    lines.append("## Files")
    lines.extend(f"- `{f}`" for f in rng.sample(d.files, rng.randint(1, 3)))
    created = now - timedelta(days=rng.uniform(0, 365), seconds=rng.randint(0, 86_400))
    return SyntheticHandoff(
        project=project.slug,
        worktree=rng.choice(project.worktrees),
        sender=rng.choice(project.worktrees),
        tool=rng.choice(TOOLS),
        branch=branch,
        head=_sha(rng),
        topic=topic,
        created_at=created,
        body="\n".join(lines) + "\n",
        unread=rng.random() < 0.05,
        identifiers=tuple(identifiers),
    )


class Corpus:
    """The projects and an endless, reproducible stream of handoffs over them."""

    def __init__(self, seed: int = 7, projects: int = 40) -> None:
        self.rng = random.Random(seed)
        self.projects = make_projects(self.rng, projects)
        # A fixed "now" keeps reruns identical; recency weighting only sees relative ages.
        self.now = datetime(2026, 6, 1, tzinfo=UTC)

    def handoffs(self) -> Iterator[SyntheticHandoff]:
        while True:
            yield make_handoff(self.rng, self.rng.choice(self.projects), self.now)


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------

QUERY_TEMPLATES = (
    "what went wrong with {tech} in {component}?",
    "why did {component} hit {error}?",
    "how do we handle {thing} changes in {component}",
    "is it safe to upgrade {tech} in {env}?",
    "what should I avoid when touching {component}",
    "what did we decide about {metric} for {component}",
    "known problems with {thing} and {tech}",
    "how is {thing} validated before {component2} uses it",
    "past mistakes around {error}",
    "conventions for tests of {component}",
)


def make_queries(
    rng: random.Random, corpus: Corpus, count: int, identifiers: list[str] | None = None
) -> list[tuple[str, str]]:
    """`count` distinct (query, project) pairs: natural-language questions in a project's
    vocabulary, and one in five an identifier seen in the corpus. No string repeats, so a
    query-embedding cache cannot turn the latency run into a cache benchmark."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 100 * count + 1000:
            # The templates and vocabularies hold only so many distinct questions.
            raise ValueError(f"only {len(out)} distinct queries found; asked for {count}")
        project = rng.choice(corpus.projects)
        if identifiers and rng.random() < 0.2:
            text = f"`{rng.choice(identifiers)}` {rng.choice(('broke', 'usage', 'gotchas'))}"
        else:
            text, _ = _fill(rng, project.domain, "main", rng.choice(QUERY_TEMPLATES))
        if text not in seen:
            seen.add(text)
            out.append((text, project.slug))
    return out
