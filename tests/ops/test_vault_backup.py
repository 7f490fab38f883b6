"""basb-vault backup / verify / restore / prune on real files: the sample vault plus what Obsidian
users have (a .obsidian folder, attachments, names with spaces and non-ASCII, empty folders)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_basb.ops.vault_backup import BackupError, backup, prune, read_manifest, verify
from tests.conftest import REPO

SAMPLE = REPO / "fixtures" / "sample-vault"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "My Vault"
    shutil.copytree(SAMPLE, root)
    (root / "Attachments").mkdir()
    (root / "Attachments" / "diagram 1.png").write_bytes(bytes(range(256)) * 40)
    (root / "3 Resources" / "Café – naïve résumé 日本語.md").write_text("# Café\n\nnon-ASCII name\n", "utf-8")
    (root / "Empty Folder").mkdir()
    (root / ".obsidian" / "workspace.json").write_text('{"main": {}}\n')
    script = root / "2 Areas" / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    os.utime(root / "2 Areas" / "Home.md", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    return root


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int] | None]:
    """Every file's bytes, mode and mtime (ns), and every folder, by relative path."""
    found: dict[str, tuple[bytes, int, int] | None] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir():
            found[rel + "/"] = None
        else:
            st = path.stat()
            found[rel] = (path.read_bytes(), st.st_mode & 0o7777, st.st_mtime_ns)
    return found


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_basb.ops.vault_backup", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_round_trip_gives_the_vault_back_byte_for_byte(vault: Path, tmp_path: Path) -> None:
    archive = tmp_path / "backups" / "vault.tar.gz"
    made = cli("backup", "--vault", str(vault), "--out", str(archive))
    assert made.returncode == 0, made.stderr
    assert "files" in made.stdout
    checked = cli("verify", str(archive))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    restored = tmp_path / "restored"
    done = cli("restore", str(archive), "--into", str(restored))
    assert done.returncode == 0, done.stderr
    assert snapshot(restored) == snapshot(vault)
    assert "Empty Folder/" in snapshot(restored)
    assert cli("verify", str(archive), "--vault", str(restored)).returncode == 0


def test_manifest_lists_every_file_with_its_sha256(vault: Path, tmp_path: Path) -> None:
    import hashlib

    summary = backup(vault, tmp_path / "b.tar.gz")
    manifest = read_manifest(summary.archive)
    files = {f.path: f.sha256 for f in manifest.files}
    on_disk = {p.relative_to(vault).as_posix(): p for p in vault.rglob("*") if p.is_file()}
    assert files.keys() == on_disk.keys()
    assert all(hashlib.sha256(on_disk[rel].read_bytes()).hexdigest() == digest for rel, digest in files.items())
    assert summary.files == len(on_disk)


Tamper = Callable[[list[tuple[tarfile.TarInfo, bytes | None]]], list[tuple[tarfile.TarInfo, bytes | None]]]


def rewrite(archive: Path, change: Tamper) -> Path:
    """A copy of the archive with its members changed, as an attacker or a bad disk would."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar]  # type: ignore[union-attr]
    out = archive.with_name("tampered.tar.gz")
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in change(members):
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


NOTE = "vault/1 Projects/Kitchen Renovation.md"


def changed(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [(m, d + b"\ninjected line\n" if m.name == NOTE and d is not None else d) for m, d in members]


def dropped(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [(m, d) for m, d in members if m.name != NOTE]


def added(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [*members, (tarfile.TarInfo("vault/00 Inbox/planted.md"), b"not in the manifest\n")]


def escaping(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [*members, (tarfile.TarInfo("vault/../../outside.md"), b"path traversal\n")]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (changed, "changed: 1 Projects/Kitchen Renovation.md"),
        (dropped, "missing: 1 Projects/Kitchen Renovation.md"),
        (added, "extra: 00 Inbox/planted.md"),
        (escaping, "extra: vault/../../outside.md"),
    ],
)
def test_verify_and_restore_refuse_a_tampered_archive(
    vault: Path, tmp_path: Path, tamper: Tamper, expected: str
) -> None:
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    bad = rewrite(archive, tamper)
    result = cli("verify", str(bad))
    assert result.returncode == 1
    assert expected in result.stdout.splitlines()
    target = tmp_path / "restore-here"
    refused = cli("restore", str(bad), "--into", str(target))
    assert refused.returncode == 2
    assert "fails verification, not restored" in refused.stderr
    assert not target.exists()
    assert not (tmp_path / "outside.md").exists()


def test_verify_against_a_folder_finds_changed_missing_and_extra_files(vault: Path, tmp_path: Path) -> None:
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    (vault / "2 Areas" / "Health.md").write_text("edited after the backup\n")
    (vault / "2 Areas" / "Family.md").unlink()
    (vault / "00 Inbox" / "new idea.md").write_text("new\n")
    _, diff = verify(archive, vault)
    assert diff.changed == [f"{vault}: 2 Areas/Health.md"]
    assert diff.missing == [f"{vault}: 2 Areas/Family.md"]
    assert diff.extra == [f"{vault}: 00 Inbox/new idea.md"]


def test_restore_refuses_a_non_empty_folder_unless_forced(vault: Path, tmp_path: Path) -> None:
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep me.md").write_text("someone's note\n")
    refused = cli("restore", str(archive), "--into", str(target))
    assert refused.returncode == 2
    assert f"{target}: not empty" in refused.stderr
    assert "--force" in refused.stderr
    assert (target / "keep me.md").read_text() == "someone's note\n"
    forced = cli("restore", str(archive), "--into", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert snapshot(target) == snapshot(vault)
    assert not list(tmp_path.glob(".target.*")), "restore left its staging folders behind"


def test_a_backup_taken_while_notes_are_written_holds_whole_notes(vault: Path, tmp_path: Path) -> None:
    """A writer replaces a large note atomically (temp file + rename, as the services do) all along."""
    note = vault / "00 Inbox" / "busy.md"
    versions = [(f"version {i}\n" + "x" * 300_000 + f"\nend {i}\n").encode() for i in range(50)]
    note.write_bytes(versions[0])
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            fd, tmp = tempfile.mkstemp(dir=note.parent, prefix=".basb-", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(versions[i % len(versions)])
            os.replace(tmp, note)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archives = [backup(vault, tmp_path / f"b{n}.tar.gz").archive for n in range(5)]
    finally:
        stop.set()
        thread.join()
    for archive in archives:
        manifest, diff = verify(archive)
        assert diff.ok, diff.lines()
        assert not [f.path for f in manifest.files if f.path.endswith(".tmp")]
        with tarfile.open(archive, "r:gz") as tar:
            handle = tar.extractfile("vault/00 Inbox/busy.md")
            assert handle is not None
            assert handle.read() in versions


def test_errors_name_the_file(tmp_path: Path) -> None:
    missing = cli("verify", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2
    assert f"{tmp_path / 'nope.tar.gz'}: archive not found" in missing.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not an archive")
    assert "not a readable tar.gz archive" in cli("verify", str(junk)).stderr
    with pytest.raises(BackupError, match="not a folder"):
        backup(tmp_path / "no-vault", tmp_path / "x.tar.gz")


def test_prune_keeps_daily_and_weekly_backups(vault: Path, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    start = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # a Sunday; 30 days, two backups a day
    for day in range(30):
        for hour in (3, 15):
            when = start + timedelta(days=day, hours=hour - 3)
            backup(vault, folder / f"vault-{when:%Y%m%dT%H%M}.tar.gz", now=when)
    kept, deleted = prune(folder, keep_daily=7, keep_weekly=4)
    names = sorted(p.name for p in kept)
    # The newest of each of the last 7 days, and of each of the last 4 ISO weeks (overlapping).
    assert names[-7:] == [f"vault-202611{d:02d}T1500.tar.gz" for d in range(24, 31)]
    # Weeks 49 (Mon 30th) and 48 (ends Sun 29th) are among the days; then the Sundays of weeks 47, 46.
    assert names[:2] == ["vault-20261115T1500.tar.gz", "vault-20261122T1500.tar.gz"]
    assert len(kept) == 9
    assert len(deleted) == 60 - 9
    assert sorted(p.name for p in folder.iterdir()) == names


def with_manifest(change: Callable[[dict[str, object]], None]) -> Tamper:
    """A tamper that edits manifest.json (as an attacker who also fixes up the hashes would)."""
    import json

    def tamper(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
        out = []
        for info, data in members:
            if info.name == "manifest.json" and data is not None:
                document = json.loads(data)
                change(document)
                data = json.dumps(document).encode()
            out.append((info, data))
        return out

    return tamper


def test_restore_never_creates_folders_outside_the_target(vault: Path, tmp_path: Path) -> None:
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    escape = tmp_path / "escaped-folder"
    bad = rewrite(archive, with_manifest(lambda m: m["dirs"].append(f"../../{escape.name}")))  # type: ignore[attr-defined]
    refused = cli("restore", str(bad), "--into", str(tmp_path / "restore-here"))
    assert refused.returncode == 2
    assert "not a path inside the vault" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not escape.exists()
    assert not (tmp_path / "restore-here").exists()


def test_restore_gives_ordinary_modes_only(vault: Path, tmp_path: Path) -> None:
    script = vault / "2 Areas" / "run.sh"
    script.chmod(0o6777)  # setuid, setgid, world-writable: what a hostile archive would carry
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    restored = tmp_path / "restored"
    assert cli("restore", str(archive), "--into", str(restored)).returncode == 0
    assert (restored / "2 Areas" / "run.sh").stat().st_mode & 0o7777 == 0o755
    note_mode = (vault / "2 Areas" / "Home.md").stat().st_mode
    assert (restored / "2 Areas" / "Home.md").stat().st_mode & 0o7777 == note_mode & 0o755
