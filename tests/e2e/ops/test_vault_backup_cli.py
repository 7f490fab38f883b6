"""basb-vault run as a process: backup / verify / restore on real files (the sample vault plus what
Obsidian users have: a .obsidian folder, attachments, names with spaces and non-ASCII, empty folders)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_basb.ops.vault_backup import BackupError, backup
from tests.helpers import obsidian_vault


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return obsidian_vault(tmp_path)


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


def test_errors_name_the_file(tmp_path: Path) -> None:
    missing = cli("verify", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2
    assert f"{tmp_path / 'nope.tar.gz'}: archive not found" in missing.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not an archive")
    assert "not a readable tar.gz archive" in cli("verify", str(junk)).stderr
    with pytest.raises(BackupError, match="not a folder"):
        backup(tmp_path / "no-vault", tmp_path / "x.tar.gz")


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
