"""What every part's OpenAPI document says about the web edge: the security schemes, the scopes
each operation requires, and every error the edge answers, in the problem+json shape it
answers them in.

A route documents its own success answer (its response model) and the errors only it gives
(``responses=``: a 409 of a duplicate, a 502 of another part). ``document_route`` adds what
the edge answers for any route (platform/web.py):

- 401 without valid credentials, 403 without the scope, 429 after too many failed attempts:
  on every route that checks credentials;
- 422 for invalid input (a field, a parameter, a NUL character in the URL) and 503 when the
  database does not answer: on every route;
- 400 for a body that cannot be read in the media type it declares, 413 for one over the size
  limit: on every route that takes a body;
- 404 for an id in the path that names nothing: on every route with a path parameter.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, get_args, get_origin

import orjson
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    #: The field's path in the body (``messages[0].subscriptionInfo.version``) or the name of
    #: the parameter.
    field: str
    message: str
    type: str | None = None


class Problem(BaseModel):
    """An error answer (problem+json): what went wrong, for a person (``detail``) and for a
    program (``status``, ``code``)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    #: derlink's error code, where one applies (``CPM-…``, ``HUB-…``, ``DERMS-…``).
    code: str | None = None
    #: Every invalid field (422 of invalid input).
    errors: list[FieldError] | None = None
    #: Seconds to wait before trying again (429).
    retryAfter: int | None = Field(default=None, ge=0)


#: How a client presents its credentials: ``Bearer <client_id>.<secret>``, or HTTP Basic with
#: the client id and secret. An operation lists the scopes it requires (one of them, where it
#: lists several requirements).
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "<client_id>.<secret>",
        "description": "A client's credentials, from the credentials file: "
        "Authorization: Bearer <client_id>.<secret>.",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The same credentials as HTTP Basic: the client id and its secret.",
    },
}

#: Each error the edge answers: its description and an example body.
EDGE_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "The body cannot be read in the media type its Content-Type names (a JSON body that "
        "is not UTF-8 is a 422 naming the byte).",
        {"title": "Bad Request", "detail": "There was an error parsing the body"},
    ),
    401: (
        "No credentials, or credentials that are not valid (WWW-Authenticate: Bearer).",
        {
            "title": "Unauthorized",
            "detail": "credentials required: send Authorization: Bearer <token>",
            "code": "DL-UNAUTHORIZED",
        },
    ),
    403: (
        "The client's credentials do not hold the scope the operation requires.",
        {
            "title": "Forbidden",
            "detail": "client 'analytics' lacks scope 'hub:operate'",
            "code": "DL-FORBIDDEN",
        },
    ),
    404: (
        "The id in the path names nothing.",
        {"title": "NotFound", "detail": "no record 'X-1'", "code": "DL-NOT-FOUND"},
    ),
    413: (
        "The body exceeds the part's size limit (DERLINK_MAX_BODY_BYTES).",
        {"title": "Payload Too Large", "detail": "request body exceeds the limit of 8388608 bytes"},
    ),
    422: (
        "Invalid input: every invalid field with its path, or a request a business rule "
        "refuses (with its code).",
        {
            "title": "Unprocessable Entity",
            "detail": "batchId: String should have at least 1 character",
            "errors": [
                {
                    "field": "batchId",
                    "message": "String should have at least 1 character",
                    "type": "string_too_short",
                }
            ],
        },
    ),
    429: (
        "Too many failed attempts from this client or address: try again after Retry-After "
        "seconds.",
        {
            "title": "TooManyAttempts",
            "detail": "too many failed attempts: try again in 30 s",
            "code": "DL-TOO-MANY-ATTEMPTS",
            "retryAfter": 30,
        },
    ),
    503: (
        "The database does not answer: nothing was accepted; try again after Retry-After seconds.",
        {
            "title": "Service Unavailable",
            "detail": "the database is unavailable; nothing was accepted, try again shortly",
            "code": "DL-DATABASE-UNAVAILABLE",
        },
    ),
}


def problem_response(status: int, description: str, example: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI response (a route's ``responses=`` entry) answered as problem+json."""
    return {
        "description": description,
        "content": {
            PROBLEM_JSON: {
                "schema": inline_definitions(Problem),
                "example": {"type": "about:blank", "status": status, **example},
            }
        },
    }


def documented_error(
    status: int, description: str, detail: str, code: str, **extra: Any
) -> dict[int | str, dict[str, Any]]:
    """A route's own error (``responses=documented_error(409, …)``), with an example."""
    title = {404: "NotFound", 409: "Conflict", 422: "BusinessError", 502: "Fault"}.get(
        status, "RemoteFault"
    )
    example = {"title": title, "detail": detail, "code": code, **extra}
    return {status: problem_response(status, description, example)}


def document_route(route: APIRoute, scope_checks: Sequence[tuple[str, ...]]) -> None:
    """Add to a route's OpenAPI operation the errors the edge answers for it and the
    credentials it requires (see the module's documentation). What the route documents
    itself stays."""
    statuses = {422, 503}
    if scope_checks:
        statuses |= {401, 403, 429}
    extra = dict(route.openapi_extra or {})
    if route.body_field is not None or "requestBody" in extra:
        statuses |= {400, 413}
    if route.dependant.path_params:
        statuses.add(404)
    for status in sorted(statuses):
        if status not in route.responses and str(status) not in route.responses:
            description, example = EDGE_ERRORS[status]
            route.responses[status] = problem_response(status, description, example)
    example = model_example(route.response_model)
    if example is not None:
        media = getattr(route.response_class, "media_type", None) or "application/json"
        answer = extra.setdefault("responses", {}).setdefault(str(route.status_code or 200), {})
        answer.setdefault("content", {}).setdefault(media, {}).update(carry(example))
    if scope_checks:
        requirements = []
        for combination in itertools.product(*scope_checks):
            held = sorted(set(combination))
            requirements += [{"bearer": held}, {"basic": held}]
        extra["security"] = requirements
        required = " and ".join(" or ".join(f"`{s}`" for s in check) for check in scope_checks)
        route.description = (
            f"{route.description}\n\nRequires credentials holding {required}."
            if route.description
            else f"Requires credentials holding {required}."
        )
    route.openapi_extra = extra


def example_of(example: Any) -> Callable[[dict[str, Any]], None]:
    """A model's example (``model_config = ConfigDict(json_schema_extra=example_of({...}))``):
    in the model's JSON schema, and in the answer of every operation that answers the model
    (a list of one for a list of them)."""

    def extra(schema: dict[str, Any]) -> None:
        schema[CARRIED["examples"]] = orjson.dumps([example]).decode()

    extra.example = example  # type: ignore[attr-defined]
    return extra


def model_example(annotation: Any) -> Any:
    """The example of a response model (``example_of``), a list of one for a list of them;
    None when it has none."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        example = model_example(item)
        return None if example is None else [example]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        extra = annotation.model_config.get("json_schema_extra")
        return getattr(extra, "example", None)
    return None


#: Examples travel through FastAPI's document as JSON text under these keys and are put back
#: in place (``carried``): FastAPI leaves every null out of its document, an example's too,
#: which would make an example disagree with its own schema.
CARRIED = {
    "example": "x-derlink-example",
    "examples": "x-derlink-examples",
    "value": "x-derlink-value",
}


def carry(example: Any, key: str = "example") -> dict[str, str]:
    """``{key: example}``, to be put back by ``carried`` once FastAPI has built its document."""
    return {CARRIED[key]: orjson.dumps(example).decode()}


def carried(node: Any) -> Any:
    """``node`` with every carried example back in place."""
    if isinstance(node, dict):
        restored = {k: carried(v) for k, v in node.items() if k not in CARRIED.values()}
        for key, carrier in CARRIED.items():
            if carrier in node:
                restored[key] = orjson.loads(node[carrier])
        return restored
    if isinstance(node, list):
        return [carried(v) for v in node]
    return node


def fields_of(answer: type[BaseModel], request: type[BaseModel]) -> dict[str, Any]:
    """The fields of ``answer``'s example that ``request`` takes: the request that creates what
    the answer shows."""
    example = model_example(answer)
    return {k: v for k, v in example.items() if k in request.model_fields}


def answer_example(example: Any, status: int = 200) -> dict[str, Any]:
    """A route's example answer where its response model has none of its own (a mapping of
    counts): ``openapi_extra=answer_example({...})``."""
    return {"responses": {str(status): {"content": {"application/json": carry(example)}}}}


def document_app(app: FastAPI) -> None:
    """Publish the security schemes in the app's OpenAPI document, and its examples whole
    (``carried``)."""
    build = app.openapi

    made: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        built = build()  # FastAPI's, which it keeps while the routes stay the same
        if made.get("from") is not built:
            document: dict[str, Any] = carried(built)
            document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            made.update({"from": built, "document": document})
        published: dict[str, Any] = made["document"]
        return published

    app.openapi = openapi  # type: ignore[method-assign]


def inline_definitions(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with every ``$ref`` to its ``$defs`` replaced by the
    definition itself: placed in an OpenAPI document, a ``#/$defs/…`` reference would point at
    the document's root, where nothing answers it."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"{model.__name__}: {name} refers to itself")
                rest = {k: inline(v, seen) for k, v in node.items() if k != "$ref"}
                return {**inline(defs[name], (*seen, name)), **rest}
            return {k: inline(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, seen) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema, ())
    return inlined


def body_example(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """A route's request-body example (``openapi_extra=body_example(Model, {...})``), checked
    against the model when the route is defined: an example the model refuses stops the part
    from starting, so none goes stale."""
    model.model_validate(example)
    return {"requestBody": {"content": {"application/json": carry(example)}}}
