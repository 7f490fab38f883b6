"""Keep values that came from ${VAR} out of every text the plugin emits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "***"


class Redactor:
    """Replaces every known secret value with `***` (longest first, so overlaps stay masked)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Very short values would mask ordinary words; a secret of 1-3 chars is not worth hiding.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """Redact strings anywhere inside JSON-like data (the same object when there is no secret)."""
        if not self._secrets:
            return value
        return self._data(value)

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self._data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._data(v) for v in value]
        return value
