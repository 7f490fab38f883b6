"""The records of a declared flow, as the inventory defines them (templates not yet rendered)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHECK_PREFIX = "flow."


@dataclass(frozen=True)
class Retry:
    """`retry: {within_s, every_s}`: call again until the expectations hold or the time is up."""

    within_s: float
    every_s: float = 0.5


@dataclass(frozen=True)
class Equals:
    """`equals: {pointer, value}`: the value at a JSON pointer into the answer equals `value`."""

    pointer: str
    value: Any


@dataclass(frozen=True)
class StepExpect:
    """What one answer must look like; strings in `contains`, `absent` and `equals` are templates."""

    is_error: bool | None = None
    schema: Mapping[str, Any] | None = None
    contains: tuple[str, ...] = ()
    equals: tuple[Equals, ...] = ()
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlowStep:
    """One tool call of a flow; `always` steps (clean-up) run after an earlier failure too."""

    id: str
    service: str
    tool: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    expect: StepExpect = field(default_factory=StepExpect)
    save: Mapping[str, str] = field(default_factory=dict)  # saved name -> JSON pointer into the answer
    retry: Retry | None = None
    always: bool = False


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[FlowStep, ...]
    smoke: bool = False
    description: str = ""

    @property
    def check_id(self) -> str:
        return CHECK_PREFIX + self.name

    @property
    def services(self) -> tuple[str, ...]:
        """The services the flow calls, in the order it first calls them."""
        return tuple(dict.fromkeys(step.service for step in self.steps))

    @property
    def home(self) -> str:
        """The service the flow's result is reported under: the one its first step calls."""
        return self.steps[0].service
