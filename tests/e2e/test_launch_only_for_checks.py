"""A project's own test whose id ends in `[<service id>]` is no gate check: under xdist the
controller must not start that service's server for it (it held the reference ports for a whole
self-test run once)."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import free_port


def test_a_parametrized_test_named_like_a_service_launches_nothing(pytester: pytest.Pytester) -> None:
    marker = pytester.path / "launched"
    pytester.makefile(
        ".yaml",
        inv=f"""
        version: 1
        environments:
          t:
            services:
              kit:
                transport: streamable-http
                url: "http://127.0.0.1:{free_port()}/mcp"
                launch: ["{sys.executable}", "-c", "open({str(marker)!r}, 'w').write('started')"]
        """,
    )
    pytester.makepyfile(
        test_mine="""
        import pytest

        @pytest.mark.parametrize("name", ["kit"], ids=["kit"])
        def test_own(name):
            assert name == "kit"
        """
    )
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess(
        "test_mine.py", "--basb-inventory=inv.yaml", "--basb-env=t", "-n", "2", "-p", "no:randomly", timeout=180
    )
    result.assert_outcomes(passed=1)
    assert not marker.exists(), "the controller launched a server no gate check needed"
