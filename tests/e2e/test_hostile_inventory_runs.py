"""A FIFO as the inventory ends a real run with exit 4, never a hang."""

from __future__ import annotations

import os

from tests.helpers import Gate


def test_a_fifo_inventory_ends_the_run_with_exit_4_not_a_hang(gate: Gate) -> None:
    gate.inventory.unlink(missing_ok=True)
    os.mkfifo(gate.inventory)
    result = gate.run_subprocess(timeout=120)
    assert result.ret == 4
    assert "not a regular file" in result.stderr.str()
    assert "Traceback" not in result.stderr.str()
