"""`basb-vault` on generated archives (damaged bytes, altered manifests, hostile members) and
arguments: exit 0, 1 or 2, a message about the input (never an internal error's name or a traceback),
and a restore never writes outside its target folder."""

from __future__ import annotations

import copy
import functools
import io
import json
import re
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_basb.ops.vault_backup import MANIFEST, backup, main
from tests.strategies import JSON

EXAMPLES = 300
INTERNAL = re.compile(r"^basb-vault: error: [A-Z]\w*(?:Error|Exception)\b|Traceback", re.MULTILINE)


@functools.cache
def valid_members() -> tuple[tuple[tarfile.TarInfo, bytes | None], ...]:
    """The members of a real backup of a small vault (made once)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "vault"
        (vault / "notes" / "empty").mkdir(parents=True)
        (vault / "notes" / "a.md").write_text("# A\n")
        (vault / "b.md").write_text("b\n")
        archive = backup(vault, Path(tmp) / "b.tar.gz").archive
        members = []
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                handle = tar.extractfile(member) if member.isfile() else None
                members.append((member, handle.read() if handle else None))
    return tuple(members)


def _archive(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            info = copy.copy(info)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


@st.composite
def damaged_manifest(draw: st.DrawFn, original: bytes) -> bytes:
    kind = draw(st.sampled_from(["field", "field", "file-field", "json", "bytes", "deep"]))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "deep":
        return b"[" * draw(st.integers(1000, 50_000))
    doc = json.loads(original)
    if kind == "field":
        doc[draw(st.sampled_from(sorted(doc)))] = draw(JSON)
    else:
        entry = doc["files"][draw(st.integers(0, len(doc["files"]) - 1))]
        key = draw(st.sampled_from(sorted(entry)))
        entry[key] = draw(
            JSON
            | st.sampled_from(["../escape", "/etc/passwd", "notes", "", ".", "notes/../../x"])
            | st.sampled_from([10**30, -(10**30), 2**63, -1, 0o7777, float("inf"), float("nan")])
        )
    return json.dumps(doc).encode()


@st.composite
def archive_bytes(draw: st.DrawFn) -> bytes:
    members = list(valid_members())
    kind = draw(st.sampled_from(["valid", "manifest", "manifest", "member", "truncate", "flip"]))
    if kind in ("truncate", "flip"):
        data = bytearray(_archive(members))
        if kind == "truncate":
            return bytes(data[: draw(st.integers(0, len(data) - 1))])
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "manifest":
        at = next(i for i, (info, _) in enumerate(members) if info.name == MANIFEST)
        members[at] = (members[at][0], draw(damaged_manifest(members[at][1] or b"")))
    if kind == "member":
        info = tarfile.TarInfo(draw(st.sampled_from(["../escape.md", "/abs.md", "vault/../x.md", "vault/b.md/c", "x"])))
        info.type = draw(st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE]))
        info.linkname = "/etc/passwd" if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        info.mode = draw(st.sampled_from([0o644, 0o6777, 0o777]))
        members.insert(draw(st.integers(0, len(members))), (info, b"payload" if info.type == tarfile.REGTYPE else None))
    return _archive(members)


COMMANDS = st.sampled_from(
    [
        ["verify", "{archive}"],
        ["verify", "{archive}", "--vault", "{full}"],
        ["verify", "{archive}", "--vault", "{missing}"],
        ["restore", "{archive}", "--into", "{empty}"],
        ["restore", "{archive}", "--into", "{full}"],
        ["restore", "{archive}", "--into", "{full}", "--force"],
        ["restore", "{archive}", "--into", "{archive}"],
        ["restore", "{missing}", "--into", "{empty}"],
        ["prune", "{folder}"],
        ["prune", "{folder}", "--keep-daily", "0", "--keep-weekly", "0", "--dry-run"],
        ["prune", "{folder}", "--keep-daily", "-1"],
        ["prune", "{folder}", "--keep-daily", "x"],
        ["prune", "{archive}"],
        ["backup", "--vault", "{missing}", "--out", "{folder}/new.tar.gz"],
        ["backup", "--vault", "{full}", "--out", "{full}/inside.tar.gz"],
        ["verify"],
        ["nothing"],
        [],
    ]
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=archive_bytes(), command=COMMANDS)
def test_generated_archives_and_arguments_exit_0_1_or_2_with_a_message(
    data: bytes, command: list[str], tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path_factory.mktemp("case")
    folder = root / "backups"
    folder.mkdir()
    archive = folder / "2026-01-01.tar.gz"
    archive.write_bytes(data)
    full = root / "full"
    full.mkdir()
    (full / "keep.md").write_text("kept\n")
    names = {"archive": archive, "folder": folder, "full": full, "empty": root / "empty", "missing": root / "missing"}
    argv = [part.format(**names) for part in command]
    capsys.readouterr()
    code = _main(argv)
    err = capsys.readouterr().err
    event(f"exit {code}")  # --hypothesis-show-statistics: how the generated inputs ended
    assert code in (0, 1, 2), err
    assert not INTERNAL.search(err), err
    outside = sorted(p.name for p in root.iterdir())
    assert set(outside) <= {"backups", "full", "empty"}, f"written outside the target folder: {outside}"
    assert not (root.parent / "escape.md").exists()


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse: usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2


def test_the_valid_archive_verifies_and_restores(tmp_path: Path) -> None:
    """The generator's starting point is itself a good input (else the test above proves little)."""
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(_archive(list(valid_members())))
    assert main(["verify", str(archive)]) == 0
    assert main(["restore", str(archive), "--into", str(tmp_path / "back")]) == 0
    assert (tmp_path / "back" / "notes" / "a.md").read_text() == "# A\n"
    assert (tmp_path / "back" / "notes" / "empty").is_dir()
