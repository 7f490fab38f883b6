"""basb-vault's functions on real files: manifests, verify against a folder, a backup taken while notes
are written, pruning."""

from __future__ import annotations

import os
import tarfile
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_basb.ops.vault_backup import backup, prune, read_manifest, verify
from tests.helpers import obsidian_vault


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return obsidian_vault(tmp_path)


def test_manifest_lists_every_file_with_its_sha256(vault: Path, tmp_path: Path) -> None:
    import hashlib

    summary = backup(vault, tmp_path / "b.tar.gz")
    manifest = read_manifest(summary.archive)
    files = {f.path: f.sha256 for f in manifest.files}
    on_disk = {p.relative_to(vault).as_posix(): p for p in vault.rglob("*") if p.is_file()}
    assert files.keys() == on_disk.keys()
    assert all(hashlib.sha256(on_disk[rel].read_bytes()).hexdigest() == digest for rel, digest in files.items())
    assert summary.files == len(on_disk)


def test_verify_against_a_folder_finds_changed_missing_and_extra_files(vault: Path, tmp_path: Path) -> None:
    archive = backup(vault, tmp_path / "b.tar.gz").archive
    (vault / "2 Areas" / "Health.md").write_text("edited after the backup\n")
    (vault / "2 Areas" / "Family.md").unlink()
    (vault / "00 Inbox" / "new idea.md").write_text("new\n")
    _, diff = verify(archive, vault)
    assert diff.changed == [f"{vault}: 2 Areas/Health.md"]
    assert diff.missing == [f"{vault}: 2 Areas/Family.md"]
    assert diff.extra == [f"{vault}: 00 Inbox/new idea.md"]


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


def test_prune_keeps_daily_and_weekly_backups(vault: Path, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    start = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # a Sunday; 30 days, two backups a day
    for day in range(30):
        for hour in (3, 15):
            when = start + timedelta(days=day, hours=hour - 3)
            backup(vault, folder / f"vault-{when:%Y%m%dT%H%M}.tar.gz", now=when)
    pruned = prune(folder, keep_daily=7, keep_weekly=4)
    kept, deleted = pruned.kept, pruned.deleted
    names = sorted(p.name for p in kept)
    # The newest of each of the last 7 days, and of each of the last 4 ISO weeks (overlapping).
    assert names[-7:] == [f"vault-202611{d:02d}T1500.tar.gz" for d in range(24, 31)]
    # Weeks 49 (Mon 30th) and 48 (ends Sun 29th) are among the days; then the Sundays of weeks 47, 46.
    assert names[:2] == ["vault-20261115T1500.tar.gz", "vault-20261122T1500.tar.gz"]
    assert len(kept) == 9
    assert len(deleted) == 60 - 9
    assert sorted(p.name for p in folder.iterdir()) == names


def test_prune_deletes_only_backups_it_wrote_under_their_name(vault: Path, tmp_path: Path) -> None:
    """A drill's archive, a renamed copy, a foreign tar.gz and other files are never deleted nor
    counted, however old: only backups `basb-vault backup` wrote under the name they still have."""
    folder = tmp_path / "backups"
    old = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    backup(vault, folder / "drill.tar.gz", now=old, drill=True)
    backup(vault, tmp_path / "elsewhere.tar.gz", now=old)
    (tmp_path / "elsewhere.tar.gz").rename(folder / "keep-forever.tar.gz")
    with tarfile.open(folder / "foreign.tar.gz", "w:gz") as tar:
        tar.add(vault / "README.md" if (vault / "README.md").exists() else next(vault.rglob("*.md")), "note.md")
    (folder / "notes.txt").write_text("not a backup")
    for day in range(3):
        when = datetime(2026, 3, 1 + day, 3, 0, tzinfo=UTC)
        backup(vault, folder / f"vault-{when:%Y%m%d}.tar.gz", now=when)
    before = sorted(p.name for p in folder.iterdir())
    pruned = prune(folder, keep_daily=1, keep_weekly=0)
    assert [p.name for p in pruned.kept] == ["vault-20260303.tar.gz"]
    assert sorted(p.name for p in pruned.deleted) == ["vault-20260301.tar.gz", "vault-20260302.tar.gz"]
    assert sorted(p.name for p in pruned.left_alone) == ["drill.tar.gz", "foreign.tar.gz", "keep-forever.tar.gz"]
    after = sorted(p.name for p in folder.iterdir())
    assert after == sorted(set(before) - {"vault-20260301.tar.gz", "vault-20260302.tar.gz"})
    assert read_manifest(folder / "drill.tar.gz").purpose == "drill"
    assert read_manifest(folder / "vault-20260303.tar.gz").archive == "vault-20260303.tar.gz"
