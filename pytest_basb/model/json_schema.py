"""JSON Schema as the gate meets it (servers' tool schemas, `expect.schema` in the inventory): is a
schema valid, and does a value fit it. References resolve inside the schema only: a `$ref` to a
URL is never fetched (a server under test must not make the gate open connections).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

DEFAULT_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a valid JSON Schema (checked against its metaschema), or None."""
    if not isinstance(schema, Mapping):
        return f"not an object but {type(schema).__name__}"
    try:
        text = json.dumps(schema, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        return "not JSON (nested too deeply or circular)"
    return _schema_problem(text)


@functools.lru_cache(maxsize=4096)
def _schema_problem(schema_json: str) -> str | None:
    """Cached by canonical text: many checks (and services) share the same schemas."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    dialect = schema.get("$schema", DEFAULT_DIALECT)
    cls = validator_for(schema, default=validator_for({"$schema": DEFAULT_DIALECT}))
    if "$schema" in schema and cls.META_SCHEMA.get("$id", "").rstrip("#") != str(dialect).rstrip("#"):
        return f"unknown $schema dialect {dialect!r}"
    try:
        cls.check_schema(dict(schema))
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        return f"at {where}: {exc.message}"
    except RecursionError:
        return "nested too deeply"
    return None


def instance_problem(instance: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `instance` does not fit `schema`, or None. An invalid schema, or a `$ref` that does not
    resolve inside it, is named as such (never raised)."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from referencing import Registry
    from referencing.exceptions import Unresolvable

    if (why := schema_problem(schema)) is not None:
        return f"the schema is not valid ({why})"

    cls = validator_for(schema, default=validator_for({"$schema": DEFAULT_DIALECT}))
    try:  # an empty registry: without one, jsonschema would fetch remote $refs over the network
        error = best_match(cls(schema, registry=Registry()).iter_errors(instance))
    except Unresolvable as exc:
        return f"the schema's $ref cannot be resolved inside it ({str(exc)[:120]}); remote references are not fetched"
    except RecursionError:
        return "the value or the schema is nested too deeply to check"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {where}: {error.message[:200]}"
