"""Backup, verify and restore times of basb-vault on the sample vault and on a larger made-up one.

Prints, per vault: files, bytes, and seconds for backup, verify, restore (one run each, in-process).
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

from pytest_basb.ops.vault_backup import backup, restore, verify

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample-vault"


def grown_vault(root: Path, notes: int, attachments: int) -> Path:
    """The sample vault plus `notes` notes of 2-20 KB and `attachments` binary files of 200 KB."""
    vault = root / "grown"
    shutil.copytree(SAMPLE, vault)
    rng = random.Random(7)
    words = [
        "second",
        "brain",
        "capture",
        "organize",
        "distill",
        "express",
        "project",
        "area",
        "resource",
        "archive",
        "note",
    ]
    for i in range(notes):
        folder = vault / rng.choice(["00 Inbox", "1 Projects", "2 Areas", "3 Resources", "4 Archives"])
        text = " ".join(rng.choice(words) for _ in range(rng.randint(300, 3000)))
        (folder / f"Note {i:05d} – überblick.md").write_text(f"# Note {i}\n\n{text}\n", encoding="utf-8")
    (vault / "Attachments").mkdir()
    for i in range(attachments):
        (vault / "Attachments" / f"image {i}.png").write_bytes(rng.randbytes(200_000))
    return vault


def measure(vault: Path, work: Path) -> None:
    archive = work / f"{vault.name}.tar.gz"
    started = time.perf_counter()
    summary = backup(vault, archive)
    backup_s = time.perf_counter() - started
    started = time.perf_counter()
    _, diff = verify(archive)
    verify_s = time.perf_counter() - started
    assert diff.ok
    started = time.perf_counter()
    restore(archive, work / f"{vault.name}-restored")
    restore_s = time.perf_counter() - started
    print(
        f"{vault.name}: {summary.files} files, {summary.bytes / 1e6:.1f} MB"
        f" (archive {archive.stat().st_size / 1e6:.1f} MB)"
        f" — backup {backup_s:.2f} s, verify {verify_s:.2f} s, restore {restore_s:.2f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        measure(SAMPLE, work)
        measure(grown_vault(work, notes=5000, attachments=100), work)


if __name__ == "__main__":
    main()
