"""One client–server contract (issue 16): the client's models and requests against the
server's own OpenAPI document.

The document is built from the FastAPI app as the server serves it (`create_app(...).openapi()`);
no database and no model are needed for that. Checked:

- every property the server returns is a field of the client model that mirrors it, or is
  listed in `IGNORED` with the reason the client leaves it out;
- every field of a client model is a property of the server's component (a client field the
  server never sends would always hold its default);
- a nested model is the one mirroring the component the server refers to;
- where both sides enumerate values (kinds, modes, status, visibility) they are the same;
- every field a request builder of `memory_client._core` sends is one the server accepts, with
  the same enumerated values, and every field the server accepts is sent (or in `IGNORED`).

The mapping client model -> server component is `MIRRORS`, the one place it is written down.
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from memory_client import _core, models
from pydantic import BaseModel

from memory_service.app import create_app
from memory_service.config import Settings
from memory_service.handoffs.schemas import HandoffCreate

Schema = dict[str, Any]
REF = "#/components/schemas/{model}"

# Client response model -> the server component schema it mirrors.
MIRRORS: dict[type[BaseModel], str] = {
    models.LearningBrief: "LearningBrief",
    models.HandoffCreated: "HandoffCreated",
    models.HandoffSummary: "HandoffSummary",
    models.Handoff: "Handoff",
    models.MarkedRead: "MarkedRead",
    models.HandoffPage: "HandoffPage",
    models.Drift: "Drift",
    models.Delivery: "Delivery",
    models.Inbox: "Inbox",
    models.SearchResult: "SearchResult",
    models.SearchResponse: "SearchResponse",
    models.CheckResponse: "CheckResponse",
    models.Brief: "Brief",
    models.CheckoutContext: "CheckoutContext",
    models.RecallResponse: "RecallResponse",
    models.Learning: "Learning",
    models.Citation: "Citation",
    models.CitedPaths: "CitedPaths",
    models.CheckoutFiles: "CheckoutFiles",
    models.GitEvidence: "GitEvidence",
    models.Forgotten: "Forgotten",
    models.FeedbackOut: "FeedbackOut",
    models.FeedbackList: "FeedbackList",
}

# Client models with no component to check against, and why.
UNTYPED: dict[type[BaseModel], str] = {
    models.Health: "/healthz returns a plain JSON object, not a component schema",
    models.Readiness: "/readyz returns a plain JSON object (200 or 503), not a component schema",
}

# Per client model or request component: server properties the client deliberately leaves out,
# each with a one-line reason. Empty today: the client mirrors every property.
IGNORED: dict[str, dict[str, str]] = {
    "HandoffCreate": {},
    "ClaimRequest": {},
    "MarkRead": {},
    "SearchRequest": {},
    "BriefRequest": {},
    "RecallRequest": {},
}

# The client's enumerations -> (component, property) where the server enumerates the same.
LITERALS: dict[str, tuple[Any, str, str]] = {
    "Kind": (models.Kind, "SearchRequest", "kinds"),
    "Mode": (models.Mode, "SearchRequest", "mode"),
    "Status": (models.Status, "HandoffSummary", "status"),
    "Visibility": (models.Visibility, "HandoffSummary", "visibility"),
}

# Request builder -> the server component its JSON body must match.
REQUESTS: dict[Callable[..., _core.Call[Any]], str] = {
    _core.create_handoff: "HandoffCreate",
    _core.claim_inbox: "ClaimRequest",
    _core.mark_read: "MarkRead",
    _core.search: "SearchRequest",
    _core.brief: "BriefRequest",
    _core.recall: "RecallRequest",
    _core.check: "CheckRequest",
}

# A value per parameter of a request builder, so every field it can send is sent.
SAMPLES: dict[str, Any] = {
    "created_at": datetime(2024, 1, 2, tzinfo=UTC),
    "since": datetime(2024, 1, 2, tzinfo=UTC),
    "projects": ["github.com/acme/widgets"],
    "kinds": ["note"],
    "k": 3,
    "token_budget": 800,
    "visibility": "team",
    "status": "read",
    "mode": "text",
    "context": models.CheckoutContext(commits=["Add cursor"], changed_paths=["lib/history.ex"]),
    "git": models.GitEvidence(blobs={"lib/history.ex": "a" * 40}),
    "checkout": models.CheckoutFiles(
        project="github.com/acme/widgets", files={"lib/history.ex": "a" * 40, "gone.ex": None}
    ),
}
NOT_IN_BODY = {"idempotency_key"}  # sent as the Idempotency-Key header


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    # Never connected to: building the document needs neither a database nor the model.
    settings = Settings(
        database_url="postgresql://unused@127.0.0.1:1/unused",
        data_dir=tmp_path_factory.mktemp("contract"),
        migrate_on_start=False,
        bootstrap_admin_key=False,
    )
    document = create_app(settings).openapi()
    # POST /v1/handoffs declares its body by hand (JSON or text/markdown); the app publishes
    # its component all the same, as the server's model states it.
    body = HandoffCreate.model_json_schema(ref_template=REF)
    body.pop("$defs", None)
    assert document["components"]["schemas"]["HandoffCreate"] == body
    return document


# --- the comparison ----------------------------------------------------------------------------


def _walk(schema: Schema) -> Iterator[Schema]:
    """`schema` and the schemas inside it that describe the same value (`anyOf`, `items`)."""
    yield schema
    for part in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from _walk(part)
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"])


def server_enum(schema: Schema) -> set[Any] | None:
    found = [set(s["enum"]) for s in _walk(schema) if "enum" in s]
    return set().union(*found) if found else None


def server_refs(schema: Schema) -> set[str]:
    return {s["$ref"].rsplit("/", 1)[-1] for s in _walk(schema) if "$ref" in s}


def _args(tp: Any) -> Iterator[Any]:
    """`tp` and every type inside it (`list[X] | None` -> X, ...)."""
    yield tp
    for arg in typing.get_args(tp):
        if typing.get_origin(tp) is not Literal:
            yield from _args(arg)


def client_enum(tp: Any) -> set[Any] | None:
    found = [set(typing.get_args(t)) for t in _args(tp) if typing.get_origin(t) is Literal]
    return set().union(*found) if found else None


def client_models(tp: Any) -> set[type[BaseModel]]:
    return {t for t in _args(tp) if isinstance(t, type) and issubclass(t, BaseModel)}


def compare_fields(
    name: str,
    component: str,
    client: Mapping[str, Any],
    schemas: Schema,
    ignored: Mapping[str, str],
) -> list[str]:
    """Differences between the client's fields (name -> type) and the server's component."""
    if component not in schemas:
        return [f"{name}: the server has no component {component!r}"]
    server: Schema = schemas[component].get("properties", {})
    problems = [
        f"{name}: the server's {component}.{prop} is neither a client field nor in IGNORED"
        for prop in server
        if prop not in client and prop not in ignored
    ]
    problems += [
        f"{name}: IGNORED lists {prop!r}, which the server's {component} does not have"
        for prop in ignored
        if prop not in server
    ]
    problems += [
        f"{name}: {prop!r} is also a client field; drop it from IGNORED"
        for prop in ignored
        if prop in client
    ]
    for field, tp in client.items():
        if field not in server:
            problems.append(f"{name}.{field}: not a property of the server's {component}")
            continue
        theirs, ours = server_enum(server[field]), client_enum(tp)
        if theirs is not None and ours is not None and theirs != ours:
            problems.append(
                f"{name}.{field}: client values {sorted(ours)} != server's {sorted(theirs)}"
            )
        refs = server_refs(server[field])
        mirrored = {MIRRORS.get(m) for m in client_models(tp)}
        if refs != (mirrored - {None}):
            problems.append(
                f"{name}.{field}: client models {sorted(map(str, mirrored))} do not mirror "
                f"the server's {sorted(refs)}"
            )
    return problems


def compare_model(model: type[BaseModel], schemas: Schema) -> list[str]:
    component = MIRRORS[model]
    client = {name: f.annotation for name, f in model.model_fields.items()}
    ignored = IGNORED.get(model.__name__, {})
    return compare_fields(model.__name__, component, client, schemas, ignored)


def sent_fields(builder: Callable[..., _core.Call[Any]]) -> dict[str, Any]:
    """What `builder` puts in the JSON body with every parameter given, with the type of the
    parameter each field comes from."""
    hints = typing.get_type_hints(builder, vars(_core))
    kwargs = {
        name: SAMPLES.get(name, "x")
        for name in inspect.signature(builder).parameters
        if name not in NOT_IN_BODY
    }
    body = builder(**kwargs).request.json
    assert isinstance(body, dict), builder.__name__
    return {field: hints.get(field, type(value)) for field, value in body.items()}


def compare_request(builder: Callable[..., _core.Call[Any]], schemas: Schema) -> list[str]:
    component = REQUESTS[builder]
    return compare_fields(
        f"_core.{builder.__name__}",
        component,
        sent_fields(builder),
        schemas,
        IGNORED.get(component, {}),
    )


def compare_literals(schemas: Schema) -> list[str]:
    problems = []
    for name, (literal, component, prop) in LITERALS.items():
        theirs = server_enum(schemas[component]["properties"][prop])
        if set(typing.get_args(literal)) != theirs:
            problems.append(
                f"{name}: client {sorted(typing.get_args(literal))} != server's "
                f"{component}.{prop} {sorted(theirs or ())}"
            )
    return problems


def inline_enums(schemas: Schema) -> Schema:
    """`schemas` with every reference to an enumeration component (the server's `Kind`,
    `Visibility`, ... of memory_service/vocabulary.py) replaced by that component: an
    enumeration is a value, mirrored by a Literal, not a model."""
    enums = {name: s for name, s in schemas.items() if "enum" in s and "properties" not in s}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in enums:
                return copy.deepcopy(enums[ref.rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {name: inline(s) for name, s in schemas.items()}


def all_problems(schemas: Schema) -> list[str]:
    schemas = inline_enums(schemas)
    problems = [p for model in MIRRORS for p in compare_model(model, schemas)]
    problems += [p for builder in REQUESTS for p in compare_request(builder, schemas)]
    return problems + compare_literals(schemas)


# --- the tests ---------------------------------------------------------------------------------


def test_every_client_model_is_mapped() -> None:
    defined = {
        obj
        for obj in vars(models).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == models.__name__
        and not obj.__name__.startswith("_")
    }
    assert defined == set(MIRRORS) | set(UNTYPED)
    assert not set(MIRRORS) & set(UNTYPED)
    assert typing.get_args(models.Kind) == models.KINDS


def test_client_mirrors_server(openapi: Schema) -> None:
    assert all_problems(openapi["components"]["schemas"]) == []


def _template(openapi: Schema, path: str) -> str:
    """The server's path template a request's path fills in (`/v1/handoffs/x/read` is
    `/v1/handoffs/{handoff_id}/read`)."""
    [found] = [
        template
        for template in openapi["paths"]
        if re.fullmatch(re.sub(r"\\{[^}]*\\}", "[^/]+", re.escape(template)), path)
    ]
    return found


def test_requests_go_where_the_server_expects_them(openapi: Schema) -> None:
    for builder, component in REQUESTS.items():
        spec = builder(**{n: SAMPLES.get(n, "x") for n in inspect.signature(builder).parameters})
        body = openapi["paths"][_template(openapi, spec.request.path)][spec.request.method.lower()][
            "requestBody"
        ]
        schema = body["content"]["application/json"]["schema"]
        schema.pop("default", None)  # an optional body (POST /v1/handoffs/{id}/read)
        assert schema == {"$ref": REF.format(model=component)}, builder.__name__


DROP = object()

# Self-check: drift made on a copy of the server's document -> how each problem reported starts.
# A change is (the path to a schema in components.schemas, the key to set in it, its new value
# or DROP to delete the key).
DRIFTS: dict[str, tuple[tuple[str | int, ...], str, Any, list[str]]] = {
    "a new response field": (
        ("SearchResult", "properties"),
        "provenance",
        {"type": "string"},
        ["SearchResult: the server's SearchResult.provenance is neither a client field nor in"],
    ),
    "a dropped response field": (
        ("Delivery", "properties"),
        "flag_reasons",
        DROP,
        ["Delivery.flag_reasons: not a property of the server's Delivery"],
    ),
    "a new kind": (
        ("Kind",),
        "enum",
        [*models.KINDS, "rumour"],
        ["_core.search.kinds: client values", "Kind: client"],
    ),
    "a new request field": (
        ("HandoffCreate", "properties"),
        "priority",
        {"type": "integer"},
        ["_core.create_handoff: the server's HandoffCreate.priority is neither a client field"],
    ),
    "another nested model": (
        ("Brief", "properties", "learnings"),
        "items",
        {"$ref": REF.format(model="Learning")},
        ["Brief.learnings: client models"],
    ),
}


@pytest.mark.parametrize("drift", DRIFTS)
def test_the_comparison_notices_drift(openapi: Schema, drift: str) -> None:
    path, key, value, expected = DRIFTS[drift]
    schemas = copy.deepcopy(openapi["components"]["schemas"])
    target = schemas
    for step in path:
        target = target[step]
    assert key in target or value is not DROP
    if value is DROP:
        del target[key]
    else:
        target[key] = value
    problems = all_problems(schemas)
    assert len(problems) == len(expected), problems
    assert all(any(p.startswith(e) for p in problems) for e in expected), problems


def test_literal_helpers_read_both_sides() -> None:
    # The helpers themselves: a Literal nested in an optional list is found on both sides.
    assert client_enum(list[models.Kind] | None) == set(models.KINDS)
    assert client_enum(str | None) is None
    assert server_enum({"anyOf": [{"items": {"enum": ["a"]}}, {"type": "null"}]}) == {"a"}
    assert client_models(list[models.Delivery] | None) == {models.Delivery}
