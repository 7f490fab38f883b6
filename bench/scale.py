"""Benchmark: the gate at scale, beside a hand-written SDK program and the raw JSON-RPC floor.

Per-service marginal cost = (T(K_big) - T(K_small)) / (K_big - K_small): it removes the fixed
start-up (interpreter, pytest, `import mcp`). Every program runs in every round, rounds are
interleaved, and the figures are medians of wall and CPU (children included) in one run. The
reference programs are the shared bench anchors (../shared/bench-anchors beside the repo).
Also measured: `local` with -n 0 and -n 2, a hostile environment's wall time, and Ctrl-C exit
times. Results go to stdout and bench/RESULTS.md.

    python bench/scale.py [--rounds 3] [--small 50 --big 200] [--stdio-small 4 --stdio-big 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANCHORS = REPO.parent / "shared" / "bench-anchors"
ROGUE = REPO / "tests" / "servers" / "rogue_server.py"
RESULTS = REPO / "bench" / "RESULTS.md"
BASE_PORT = 21000


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds used so far by process `pid` and its children (Linux /proc): the fleet's servers."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, server: int | None = None
) -> tuple[float, float, float]:
    """(wall s, CPU s of the child and its descendants, CPU s of the `server` process tree) of one
    run; failures abort the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = tree_cpu_s(server)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"benchmark run failed ({done.returncode}): {' '.join(argv)}\n{done.stdout.decode()[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, tree_cpu_s(server) - server_before


def gate_argv(work: Path, inventory: Path, env: str, workers: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(REPO / "suites"), "-q", "-m", "smoke", "-p", "no:cacheprovider",
        "-c", str(work / "pytest.ini"), f"--rootdir={work}", f"--basb-inventory={inventory}",
        f"--basb-env={env}", f"--basb-report-dir={work / 'report'}", "-n", str(workers), *extra,
    ]  # fmt: skip


def fleet_inventory(path: Path, services: dict[str, str]) -> Path:
    """services: id -> YAML flow mapping of how it is reached."""
    smoke = "smoke: [{tool: add, arguments: {a: 2, b: 3}}, {prompt: greet, arguments: {name: bench}}]"
    lines = [f"      {sid}: {{{how}, timeout_s: 60, {smoke}}}" for sid, how in services.items()]
    path.write_text("version: 1\nenvironments:\n  fleet:\n    services:\n" + "\n".join(lines) + "\n")
    return path


Figures = dict[str, tuple[float, float, float]]  # program -> medians of (wall, CPU, server CPU)


def measure(programs: dict[str, Callable[[], tuple[float, float, float]]], rounds: int) -> Figures:
    """Interleaved rounds; medians of (wall, cpu, server cpu) per program."""
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in programs}
    for _ in range(rounds):
        for name, program in programs.items():
            samples[name].append(program())
    return {name: tuple(statistics.median(column) for column in zip(*s, strict=True)) for name, s in samples.items()}


def marginal_table(title: str, figures: Figures, small: int, big: int, *, server: bool = False) -> list[str]:
    names = list(dict.fromkeys(name.rsplit("@", 1)[0] for name in figures))
    rows = [f"### {title}", "", f"Per-service marginal cost = (T({big}) − T({small})) / {big - small}, medians.", ""]
    head = "| program | wall T(small) s | wall T(big) s | ms/service | CPU ms/service |"
    rows += [
        head + (" server CPU ms/service |" if server else ""),
        "|---|---|---|---|---|" + ("---|" if server else ""),
    ]
    base = None
    per_service: dict[str, tuple[float, float, float]] = {}
    for name in names:
        (w1, c1, s1), (w2, c2, s2) = figures[f"{name}@{small}"], figures[f"{name}@{big}"]
        per, cpu, srv = ((b - a) / (big - small) * 1000 for a, b in ((w1, w2), (c1, c2), (s1, s2)))
        per_service[name] = (per, cpu, srv)
        if name.startswith("hand-written"):
            base = per
        rows.append(f"| {name} | {w1:.2f} | {w2:.2f} | {per:.1f} | {cpu:.1f} |" + (f" {srv:.1f} |" if server else ""))
    if base:
        rows += ["", "Ratios to the hand-written SDK program (ms/service):"]
        rows += [f"- {name}: {per_service[name][0] / base:.2f}" for name in names]
    serial = next((v for n, v in per_service.items() if n.endswith("-n 0")), None)
    parallel = next((v for n, v in per_service.items() if n.endswith("-n 2")), None)
    if serial and parallel:
        rows += ["", f"Speed-up of -n 2 over -n 0 (ms/service): {serial[0] / parallel[0]:.2f}"]
    if serial and server:
        gate_cpu, server_cpu = serial[1], serial[2]
        rows.append(
            f"Bound: with the servers on the same {os.cpu_count()} cores, -n 2 can be at most"
            f" 2·G/(G+S) = {2 * gate_cpu / (gate_cpu + server_cpu):.2f}x faster than -n 0, even if"
            " parallel runs cost nothing extra (G = the gate's CPU per service at -n 0, S = the servers')."
        )
    return [*rows, ""]


def http_fleet(work: Path, small: int, big: int, rounds: int) -> list[str]:
    urls_file = work / "urls.txt"
    fleet = subprocess.Popen(
        [sys.executable, str(ANCHORS / "fleet.py"), "http", "-k", str(big), "--procs", "1", "--port",
         str(BASE_PORT), "--urls-file", str(urls_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not urls_file.exists():
            if time.monotonic() > deadline or fleet.poll() is not None:
                sys.exit("the HTTP fleet did not start")
            time.sleep(0.2)
        urls = urls_file.read_text().split()
        programs: dict[str, Callable[[], tuple[float, float, float]]] = {}
        for k in (small, big):
            inv = fleet_inventory(
                work / f"http{k}.yaml", {f"s{i:03d}": f"transport: streamable-http, url: '{urls[i]}'" for i in range(k)}
            )
            measured = partial(run, cwd=work, server=fleet.pid)
            programs[f"gate -n 0@{k}"] = partial(measured, gate_argv(work, inv, "fleet", 0))
            programs[f"gate -n 2@{k}"] = partial(measured, gate_argv(work, inv, "fleet", 2))
            sdk = [sys.executable, str(ANCHORS / "raw_sdk.py"), "--urls-file", str(urls_file), "-k", str(k)]
            programs[f"hand-written SDK, 16 in flight@{k}"] = partial(
                measured, [*sdk, "--mode", "auto", "--conc", "16"]
            )
            floor = [sys.executable, str(ANCHORS / "floor.py"), "http", "--urls-file", str(urls_file), "-k", str(k)]
            programs[f"raw JSON-RPC floor@{k}"] = partial(measured, [*floor, "--seq", "modern"])
        run(gate_argv(work, work / f"http{small}.yaml", "fleet", 0), work)  # warm caches once
        return marginal_table(
            f"Streamable HTTP fleet ({small} → {big} services)", measure(programs, rounds), small, big, server=True
        )
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=30)


def stdio_fleet(work: Path, small: int, big: int, rounds: int) -> list[str]:
    fleet = ANCHORS / "fleet.py"
    programs: dict[str, Callable[[], tuple[float, float, float]]] = {}
    for k in (small, big):
        inv = fleet_inventory(
            work / f"stdio{k}.yaml",
            {f"s{i:03d}": f'transport: stdio, command: ["python", "{fleet}", "serve-stdio", "--index", "{i}"]'
             for i in range(k)},
        )  # fmt: skip
        programs[f"gate -n 0@{k}"] = partial(run, gate_argv(work, inv, "fleet", 0), work)
        programs[f"gate -n 2@{k}"] = partial(run, gate_argv(work, inv, "fleet", 2), work)
        sdk = [sys.executable, str(ANCHORS / "raw_sdk.py"), "--stdio", "-k", str(k), "--mode", "auto"]
        programs[f"hand-written SDK, all in flight@{k}"] = partial(run, [*sdk, "--conc", str(k)], work)
    return marginal_table(f"stdio fleet ({small} → {big} services)", measure(programs, rounds), small, big)


XDIST_PROBE = """
import os
import pytest

@pytest.fixture
def service(request):
    return request.param

@pytest.mark.parametrize("service", range(int(os.environ["BENCH_ITEMS"])), indirect=True)
def test_check(service):
    pass
"""


def xdist_own_cost(work: Path, small: int, big: int, rounds: int) -> list[str]:
    """pytest and xdist alone: 17 empty tests per service (the gate's smoke checks of one fleet
    service), without pytest-basb: what -n 2 costs per service before any MCP work."""
    probe = work / "xdist_probe"
    probe.mkdir(exist_ok=True)
    (probe / "test_probe.py").write_text(XDIST_PROBE)
    (probe / "pytest.ini").write_text("[pytest]\n")
    programs: dict[str, Callable[[], tuple[float, float, float]]] = {}
    for k in (small, big):
        env = {**os.environ, "BENCH_ITEMS": str(17 * k)}
        for n in (0, 2):
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:basb", "-n", str(n)]
            programs[f"17 empty tests per service, -n {n}@{k}"] = partial(run, argv, probe, env)
    return marginal_table(
        f"pytest and xdist alone, no MCP ({small} → {big} services' worth of empty tests)",
        measure(programs, rounds),
        small,
        big,
    )


def local_environment(work: Path, rounds: int) -> list[str]:
    """The embedded `local` environment (all suites), -n 0 against -n 2."""
    programs: dict[str, Callable[[], tuple[float, float, float]]] = {
        f"-n {n}": partial(run, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(n),
                                 f"--basb-report-dir={work / 'local-report'}"], REPO)
        for n in (0, 2)
    }  # fmt: skip
    figures = measure(programs, rounds)
    rows = ["### `local` environment (`pytest --basb-env=local`, every suite)", ""]
    rows += ["| workers | wall s | CPU s |", "|---|---|---|"]
    rows += [f"| {name} | {w:.2f} | {c:.2f} |" for name, (w, c, _) in figures.items()]
    rows.append(f"\nRatio wall(-n 2) / wall(-n 0): {figures['-n 2'][0] / figures['-n 0'][0]:.2f}\n")
    return rows


def hostile(work: Path) -> list[str]:
    modes = ["hang-handshake", "hang-call", "garbage", "crash-call", "huge", "ignore-sigterm"]
    services = {"good": f'transport: stdio, command: ["python", "{ANCHORS / "fleet.py"}", "serve-stdio"]'}
    services |= {m: f'transport: stdio, command: ["python", "{ROGUE}", "--mode", "{m}"]' for m in modes}
    inv = work / "hostile.yaml"
    lines = [
        f"      {sid}: {{{how}, smoke: [{{tool: echo, arguments: {{text: hi}}}}]}}" for sid, how in services.items()
    ]
    inv.write_text("version: 1\nenvironments:\n  hostile:\n    services:\n" + "\n".join(lines) + "\n")
    rows = ["### Hostile environment (six misbehaving stdio servers and a healthy one, 3 s deadline)", ""]
    for n in (0, 2):
        started = time.perf_counter()
        done = subprocess.run(gate_argv(work, inv, "hostile", n, "--basb-timeout=3"), cwd=work, capture_output=True)
        rows.append(f"- `-n {n}`: {time.perf_counter() - started:.1f} s wall (exit {done.returncode})")
    return [*rows, ""]


def ctrl_c(work: Path) -> list[str]:
    inv = work / "hang.yaml"
    lines = [
        f'      hang{i}: {{transport: stdio, timeout_s: 120, command: ["python", "{ROGUE}", "--mode", "hang-call"],'
        " smoke: [{tool: echo, arguments: {text: hi}}]}"
        for i in (1, 2)
    ]
    inv.write_text("version: 1\nenvironments:\n  hang:\n    services:\n" + "\n".join(lines) + "\n")
    rows = ["### Ctrl-C while two tools/call requests hang (SIGINT to the pytest process)", ""]
    for n in (0, 2):
        proc = subprocess.Popen(
            gate_argv(work, inv, "hang", n, "-k", "declared_call"), cwd=work,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(8 if n else 5)  # servers started, calls in flight
        started = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        rows.append(f"- `-n {n}`: exited {time.perf_counter() - started:.2f} s after SIGINT, exit code {code}")
    return [*rows, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--big", type=int, default=200)
    parser.add_argument("--stdio-small", type=int, default=4)
    parser.add_argument("--stdio-big", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not (ANCHORS / "fleet.py").exists():
        sys.exit(f"bench anchors not found at {ANCHORS} (the shared folder beside the repository)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        rows = [
            "# Benchmark results (bench/scale.py)",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {sys.version.split()[0]},"
            f" {args.rounds} interleaved rounds. Reproduce with `make bench`.",
            "",
        ]
        sections: list[Callable[[], list[str]]] = [
            partial(http_fleet, work, args.small, args.big, args.rounds),
            partial(xdist_own_cost, work, args.small, args.big, args.rounds),
            partial(stdio_fleet, work, args.stdio_small, args.stdio_big, args.rounds),
            partial(local_environment, work, args.rounds),
            partial(hostile, work),
            partial(ctrl_c, work),
        ]
        for section in sections:
            part = section()
            print("\n".join(part), flush=True)
            rows += part
    args.out.write_text("\n".join(rows) + "\n")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
