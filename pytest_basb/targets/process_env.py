"""The environment a launched server gets: a minimal base plus what the inventory declares.

Never the gate's whole environment: a CI runner's environment holds other services' secrets
(tokens given to the gate through `${VAR}`), and a server under test has no business seeing them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# What a program needs to start (find executables and its home, speak the locale, write temp
# files); the MCP SDK's stdio client passes a similar set.
BASE_VARIABLES = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR")


def launch_environment(declared: Mapping[str, str]) -> dict[str, str]:
    """The base variables the gate itself has, overridden and extended by the service's `env`."""
    base = {key: os.environ[key] for key in BASE_VARIABLES if key in os.environ}
    return {**base, **declared}
