"""Declared flows: multi-step checks across services, written in the inventory (`flows:`).

The pure parts only: the step records (`model.py`), reading and validating their definition
(`definition.py`), template rendering in Jinja2's sandbox (`templates.py`), JSON pointers
(`pointer.py`) and judging one answer against a step's `expect` (`expectations.py`). Running a flow
against live sessions is the run's job (`run/flow_runner.py`).

Sits just above `model/` and below `inventory/`: the inventory loader builds and validates the
flows with it, so a bad template is an inventory error. Imports `model` only; no pytest, no mcp.
"""
