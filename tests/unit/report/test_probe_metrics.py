"""The exposition basb-probe answers for one probe, and the prober's pure helpers (listen address,
the share of Prometheus' scrape timeout a probe may use)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pytest_basb.cli.probe import parse_listen, scrape_budget
from pytest_basb.model.probe import ProbeOutcome
from pytest_basb.report.probe_metrics import probe_exposition


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_a_passing_probe_reads_1_with_every_phase_it_timed() -> None:
    outcome = ProbeOutcome("search", True, {"handshake": 0.05, "list": 0.01, "call": 0.2, "total": 0.3})
    got = samples(probe_exposition(outcome))
    assert got[("basb_probe_success", (("service", "search"),))] == 1
    phases = {dict(labels)["phase"]: v for (name, labels), v in got.items() if name == "basb_probe_duration_seconds"}
    assert phases == {"handshake": 0.05, "list": 0.01, "call": 0.2, "total": 0.3}
    assert all(dict(labels)["service"] == "search" for _name, labels in got)


def test_a_failed_probe_reads_0_and_only_the_phases_it_reached() -> None:
    outcome = ProbeOutcome("vault", False, {"handshake": 3.0, "total": 3.01}, failure="handshake: no answer")
    got = samples(probe_exposition(outcome))
    assert got[("basb_probe_success", (("service", "vault"),))] == 0
    phases = {dict(labels)["phase"] for (name, labels) in got if name == "basb_probe_duration_seconds"}
    assert phases == {"handshake", "total"}
    assert b"no answer" not in probe_exposition(outcome)  # the cause goes to the log, not into labels


def test_service_ids_are_escaped_as_label_values() -> None:
    got = samples(probe_exposition(ProbeOutcome('we"ird\\id', True, {"total": 1.0})))
    assert got[("basb_probe_success", (("service", 'we"ird\\id'),))] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9470", ("127.0.0.1", 9470)), ("0.0.0.0:0", ("0.0.0.0", 0)), ("[::1]:9470", ("::1", 9470))],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9470", ":9470", "host:", "host:http", "host:70000"])
def test_bad_listen_addresses_say_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"--listen must be HOST:PORT, e\.g\. 127\.0\.0\.1:9470"):
        parse_listen(text)


def test_a_probe_keeps_half_a_second_of_the_scrape_timeout_for_the_answer() -> None:
    assert scrape_budget({"X-Prometheus-Scrape-Timeout-Seconds": "5"}) == 4.5
    assert scrape_budget({"X-Prometheus-Scrape-Timeout-Seconds": "0.2"}) == 0.1  # never zero: the probe still runs
    assert scrape_budget({}) is None  # not Prometheus (curl): the services' timeouts alone bound it
    assert scrape_budget({"X-Prometheus-Scrape-Timeout-Seconds": "soon"}) is None
