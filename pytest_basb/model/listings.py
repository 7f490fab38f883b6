"""Typed views of a service's listings (tools, resources, prompts), for checks written by a team.

The sessions keep the wire JSON (the shipped checks hash and compare it as it came); these records
give the fields a check usually reads by name, and keep the JSON as `raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tool:
    name: str
    description: str = ""
    title: str | None = None
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    output_schema: Mapping[str, Any] | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        """Annotated `readOnlyHint: true` (MCP's default is that a tool may write)."""
        return bool(self.annotations.get("readOnlyHint", False))

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Tool:
        return cls(
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            title=data.get("title"),
            input_schema=data.get("inputSchema") or {},
            output_schema=data.get("outputSchema"),
            annotations=data.get("annotations") or {},
            raw=data,
        )


@dataclass(frozen=True)
class Resource:
    uri: str
    name: str = ""
    description: str = ""
    mime_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Resource:
        return cls(
            uri=str(data.get("uri", "")),
            name=str(data.get("name") or ""),
            description=str(data.get("description") or ""),
            mime_type=data.get("mimeType"),
            raw=data,
        )


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str = ""
    arguments: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Prompt:
        return cls(
            name=str(data.get("name", "")),
            description=str(data.get("description") or ""),
            arguments=tuple(data.get("arguments") or ()),
            raw=data,
        )
