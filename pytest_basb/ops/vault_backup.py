"""`basb-vault`: back up, verify, restore and prune backups of an Obsidian vault.

An archive is a gzip'd tar (PAX, so names with spaces and any Unicode survive) whose last member
is `manifest.json`: the sha256, size, mode and mtime of every file under `vault/`, and the folders
(empty ones too). The hash is taken over the very bytes that go into the archive, and a file that
changes while it is read is read again, so a backup taken while notes are written holds whole notes
only. The reference services' in-flight temporary files (`.basb-*.tmp`, renamed over a note when
complete) and symlinks (which could point outside the vault) are left out and listed.

The manifest also records the name the archive was written under and its purpose: `prune` deletes
only backups `basb-vault backup` wrote under the name they still have, never a drill's archive
(`backup --drill`), a renamed or foreign file, or an archive older than these two keys.

    basb-vault backup --vault DIR --out FILE [--drill]
    basb-vault verify FILE [--vault DIR]
    basb-vault restore FILE --into DIR [--force]
    basb-vault prune DIR --keep-daily N --keep-weekly M [--dry-run]

Exit status: 0 fine, 1 verify found differences, 2 a usage or I/O error (message names the file).
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT = "basb-vault-backup"
VERSION = 1
MANIFEST = "manifest.json"
ROOT = "vault"
SKIPPED_PATTERNS = (".basb-*.tmp",)
BACKUP, DRILL = "backup", "drill"  # a manifest's purpose: only backups are pruned
_READ_ATTEMPTS = 5
_CHUNK = 1 << 20
_GZIP_LEVEL = 6  # gzip's own default: level 9 (tarfile's) costs about twice the time for ~1% smaller notes


class BackupError(Exception):
    """A problem the person running the command can act on; the message names the file."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # vault-relative, POSIX separators
    sha256: str
    size: int
    mode: int
    mtime_ns: int

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "mode": self.mode,
            "mtime_ns": self.mtime_ns,
        }


@dataclass(frozen=True)
class Manifest:
    created_at: str
    vault_name: str
    files: tuple[FileEntry, ...]
    dirs: tuple[str, ...]
    purpose: str = BACKUP  # BACKUP or DRILL
    archive: str | None = None  # the file name it was written under (None: made before it was recorded)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> bytes:
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "vault_name": self.vault_name,
            "files": [f.as_json() for f in self.files],
            "dirs": list(self.dirs),
            "purpose": self.purpose,
            "archive": self.archive,
        }
        return (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes, source: Path) -> Manifest:
        try:
            doc = json.loads(data)
            if doc.get("format") != FORMAT or doc.get("version") != VERSION:
                raise BackupError(f"{source}: {MANIFEST} is not a {FORMAT} v{VERSION} manifest")
            files = tuple(
                FileEntry(f["path"], f["sha256"], int(f["size"]), int(f["mode"]), int(f["mtime_ns"]))
                for f in doc["files"]
            )
            dirs = tuple(str(d) for d in doc["dirs"])
            for path in (*(f.path for f in files), *dirs):
                if not isinstance(path, str) or _vault_path(f"{ROOT}/{path}") != path:
                    raise BackupError(
                        f"{source}: {MANIFEST} names {path!r}, which is not a path inside the vault; "
                        "the archive was altered: restore from another backup"
                    )
            purpose, archive = doc.get("purpose", BACKUP), doc.get("archive")
            if purpose not in (BACKUP, DRILL) or not isinstance(archive, str | None):
                raise BackupError(f"{source}: {MANIFEST} has purpose {purpose!r} and archive {archive!r}")
            return cls(str(doc["created_at"]), str(doc["vault_name"]), files, dirs, purpose, archive)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{source}: {MANIFEST} is unreadable ({type(exc).__name__}: {exc})") from None


@dataclass
class Differences:
    """What `verify` found: paths relative to the vault."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        return [
            *(f"changed: {p}" for p in sorted(self.changed)),
            *(f"missing: {p}" for p in sorted(self.missing)),
            *(f"extra: {p}" for p in sorted(self.extra)),
        ]


@dataclass(frozen=True)
class BackupSummary:
    archive: Path
    files: int
    bytes: int
    skipped: tuple[str, ...]
    seconds: float


# --- backup -------------------------------------------------------------------------------------


def _skipped(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SKIPPED_PATTERNS)


def _walk(vault: Path) -> Iterator[tuple[str, Path, bool]]:
    """(relative posix path, absolute path, is_dir) in a stable order; symlinks reported as skipped."""
    for root, dirs, files in os.walk(vault):
        dirs.sort()
        here = Path(root)
        for name in list(dirs):
            if (here / name).is_symlink():
                dirs.remove(name)
                yield _rel(vault, here / name), here / name, False
            else:
                yield _rel(vault, here / name), here / name, True
        for name in sorted(files):
            yield _rel(vault, here / name), here / name, False


def _rel(vault: Path, path: Path) -> str:
    return path.relative_to(vault).as_posix()


def _read_stable(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes as of one moment: re-read while a writer changes it under us."""
    for _ in range(_READ_ATTEMPTS):
        before = path.stat()
        data = path.read_bytes()
        after = path.stat()
        stamp = (before.st_mtime_ns, before.st_size, before.st_ino)
        if stamp == (after.st_mtime_ns, after.st_size, after.st_ino) and len(data) == after.st_size:
            return data, after
        time.sleep(0.05)
    raise BackupError(f"{path}: kept changing while it was read ({_READ_ATTEMPTS} attempts); try again")


def backup(vault: Path, out: Path, *, now: datetime | None = None, drill: bool = False) -> BackupSummary:
    """Write an archive of `vault` to `out` (atomically: a partial archive never has its name).

    `now` stamps the manifest's `created_at` (the retention of `prune` goes by it); `drill` marks
    the archive as a drill's, which `prune` never deletes.
    """
    started = time.perf_counter()
    if not vault.is_dir():
        raise BackupError(f"{vault}: not a folder; pass the vault with --vault DIR")
    vault = vault.resolve()
    out = out.resolve()
    if out.is_relative_to(vault):
        raise BackupError(f"{out}: inside the vault being backed up; write the archive elsewhere")
    files: list[FileEntry] = []
    dirs: list[str] = []
    skipped: list[str] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        # Each file is read once and written at once (memory: one file); the manifest goes last.
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=_GZIP_LEVEL) as tar,
        ):
            for rel, path, is_dir in _walk(vault):
                if is_dir:
                    dirs.append(rel)
                    info = tarfile.TarInfo(f"{ROOT}/{rel}")
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, time.time()
                    tar.addfile(info)
                elif path.is_symlink() or not path.is_file() or _skipped(path.name):
                    skipped.append(rel)
                else:
                    try:
                        data, st = _read_stable(path)
                    except FileNotFoundError:  # deleted since the walk listed it: not part of this backup
                        continue
                    digest = hashlib.sha256(data).hexdigest()
                    entry = FileEntry(rel, digest, len(data), st.st_mode & 0o7777, st.st_mtime_ns)
                    _add_bytes(tar, f"{ROOT}/{rel}", data, mode=entry.mode, mtime=entry.mtime_ns / 1e9)
                    files.append(entry)
            manifest = Manifest(
                created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
                vault_name=vault.name,
                files=tuple(files),
                dirs=tuple(dirs),
                purpose=DRILL if drill else BACKUP,
                archive=out.name,
            )
            _add_bytes(tar, MANIFEST, manifest.to_json(), mode=0o644, mtime=time.time())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BackupSummary(out, len(files), manifest.total_bytes, tuple(skipped), time.perf_counter() - started)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, *, mode: int, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, mtime
    tar.addfile(info, io.BytesIO(data))


# --- reading an archive -------------------------------------------------------------------------


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, mode="r:gz")
    except FileNotFoundError:
        raise BackupError(f"{archive}: archive not found") from None
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: not a readable tar.gz archive ({exc})") from None


def read_manifest(archive: Path) -> Manifest:
    with _open(archive) as tar:
        for member in tar:
            if member.name == MANIFEST and member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    return Manifest.from_json(handle.read(), archive)
    raise BackupError(f"{archive}: no {MANIFEST}; not a basb-vault backup")


# A restored file keeps its owner's bits and read/execute for the others: never setuid, setgid,
# sticky, or writable by group or world, whatever the archive says.
ORDINARY_MODE = 0o755


def _vault_path(name: str) -> str | None:
    """The vault-relative path of an archive member, or None when it is not a safe vault path."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or len(pure.parts) < 2 or pure.parts[0] != ROOT:
        return None
    return PurePosixPath(*pure.parts[1:]).as_posix()


def _sha256(handle: Any) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def verify(archive: Path, vault: Path | None = None) -> tuple[Manifest, Differences]:
    """Check the archive's files against its manifest (and, with `vault`, that folder against it).

    One pass over the compressed stream: gzip cannot seek back without decompressing again.
    """
    hashes: dict[str, str | None] = {}  # vault path -> sha256 (None: not a regular file)
    folders: set[str] = set()
    unsafe: list[str] = []
    manifest_data: bytes | None = None
    with _open(archive) as tar:
        try:
            for member in tar:
                if member.name == MANIFEST and member.isfile():
                    handle = tar.extractfile(member)
                    manifest_data = handle.read() if handle is not None else None
                    continue
                rel = _vault_path(member.name)
                if rel is None or not (member.isfile() or member.isdir()):
                    unsafe.append(member.name)
                elif member.isdir():
                    folders.add(rel)
                else:
                    handle = tar.extractfile(member)
                    hashes[rel] = _sha256(handle) if handle is not None else None
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise BackupError(f"{archive}: archive is damaged ({exc})") from None
    if manifest_data is None:
        raise BackupError(f"{archive}: no {MANIFEST}; not a basb-vault backup")
    manifest = Manifest.from_json(manifest_data, archive)
    expected = {f.path: f.sha256 for f in manifest.files}
    diff = Differences(
        changed=sorted(rel for rel, digest in hashes.items() if rel in expected and digest != expected[rel]),
        missing=sorted(expected.keys() - hashes.keys()),
        extra=sorted(
            [
                *unsafe,
                *(rel for rel in hashes if rel not in expected),
                *(f"{rel}/" for rel in folders - set(manifest.dirs)),
            ]
        ),
    )
    if vault is not None:
        _compare_folder(manifest, vault, diff)
    return manifest, diff


def _compare_folder(manifest: Manifest, vault: Path, diff: Differences) -> None:
    """Add the differences between a folder (e.g. a restored vault) and the manifest, prefixed `vault:`."""
    if not vault.is_dir():
        raise BackupError(f"{vault}: not a folder")
    expected = {f.path: f for f in manifest.files}
    present: set[str] = set()
    for rel, path, is_dir in _walk(vault):
        if is_dir or path.is_symlink() or _skipped(path.name):
            continue
        present.add(rel)
        if rel not in expected:
            diff.extra.append(f"{vault}: {rel}")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != expected[rel].sha256:
            diff.changed.append(f"{vault}: {rel}")
    diff.missing.extend(f"{vault}: {rel}" for rel in sorted(expected.keys() - present))


# --- restore ------------------------------------------------------------------------------------


def restore(archive: Path, into: Path, *, force: bool = False) -> Manifest:
    """Give the vault back byte for byte (contents, mtimes, empty folders) into `into`, with
    ordinary modes (never setuid/setgid/sticky or group/world-writable).

    Every path the manifest names must lie inside the vault (checked when it is read). The archive
    is verified first; the files go to a temporary sibling folder that takes `into`'s
    name only when complete, so a failed restore leaves `into` as it was.
    """
    manifest, diff = verify(archive)
    if not diff.ok:
        problems = "; ".join(diff.lines()[:5])
        raise BackupError(f"{archive}: fails verification, not restored ({problems})")
    into = into.absolute()
    if into.exists() and not into.is_dir():
        raise BackupError(f"{into}: exists and is not a folder")
    if into.is_dir() and any(into.iterdir()) and not force:
        raise BackupError(f"{into}: not empty; restore into an empty folder, or pass --force to replace its contents")
    into.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}.restore-"))
    os.chmod(staging, into.stat().st_mode & 0o7777 if into.is_dir() else 0o755)  # mkdtemp makes it 0700
    try:
        _extract(archive, manifest, staging)
        if into.exists():
            old = Path(tempfile.mkdtemp(dir=into.parent, prefix=f".{into.name}.old-"))
            os.replace(into, old / "vault")
            os.replace(staging, into)
            shutil.rmtree(old)
        else:
            os.replace(staging, into)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _extract(archive: Path, manifest: Manifest, target: Path) -> None:
    entries = {f.path: f for f in manifest.files}
    for folder in manifest.dirs:
        (target / folder).mkdir(parents=True, exist_ok=True)
    with _open(archive) as tar:
        for member in tar:
            rel = _vault_path(member.name)
            if rel is None or not member.isfile():
                continue
            entry = entries[rel]
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file member
            with open(path, "wb") as out:
                shutil.copyfileobj(handle, out, _CHUNK)
            os.chmod(path, entry.mode & ORDINARY_MODE)
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))


# --- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    kept: list[Path]
    deleted: list[Path]
    left_alone: list[Path]  # not backups `prune` may delete: drills, renamed, foreign or older files


def prune(folder: Path, *, keep_daily: int, keep_weekly: int, dry_run: bool = False) -> Pruned:
    """Keep the newest backup of each of the last `keep_daily` days and `keep_weekly` ISO weeks that
    have backups; delete the other backups in `folder`.

    A backup is an archive `basb-vault backup` wrote (without --drill) under the name it still has;
    every other file is left alone, whatever its name.
    """
    if keep_daily < 0 or keep_weekly < 0:
        raise BackupError("--keep-daily and --keep-weekly must be 0 or more")
    if not folder.is_dir():
        raise BackupError(f"{folder}: not a folder of backups")
    dated: list[tuple[datetime, Path]] = []
    left_alone: list[Path] = []
    for path in sorted(folder.glob("*.tar.gz")):
        try:
            manifest = read_manifest(path)
            created = datetime.fromisoformat(manifest.created_at)
        except (BackupError, ValueError, OSError):
            left_alone.append(path)  # not one of ours: never deleted
            continue
        if manifest.purpose == BACKUP and manifest.archive == path.name:
            dated.append((created, path))
        else:
            left_alone.append(path)
    dated.sort(reverse=True)
    keep: set[Path] = set()
    for period, count in (("%Y-%m-%d", keep_daily), ("%G-W%V", keep_weekly)):
        newest: dict[str, Path] = {}  # period -> its newest backup, newest period first
        for created, path in dated:
            newest.setdefault(created.strftime(period), path)
        keep.update(list(newest.values())[:count])
    deleted = [path for _, path in dated if path not in keep]
    if not dry_run:
        for path in deleted:
            path.unlink()
    return Pruned(sorted(keep), deleted, left_alone)


# --- command line ---------------------------------------------------------------------------------


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="basb-vault", description="Back up, verify and restore an Obsidian vault")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("backup", help="write a tar.gz of the vault with a sha256 manifest")
    p.add_argument("--vault", type=Path, required=True, metavar="DIR")
    p.add_argument("--out", type=Path, required=True, metavar="FILE")
    p.add_argument("--drill", action="store_true", help="a drill's archive: prune never deletes it")
    p = sub.add_parser("verify", help="check an archive against its manifest (and a folder against it)")
    p.add_argument("archive", type=Path, metavar="FILE")
    p.add_argument("--vault", type=Path, metavar="DIR", help="also compare this folder with the archive")
    p = sub.add_parser("restore", help="restore an archive into an empty folder (or --force)")
    p.add_argument("archive", type=Path, metavar="FILE")
    p.add_argument("--into", type=Path, required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace the contents of a non-empty DIR")
    p = sub.add_parser("prune", help="retention: keep N daily and M weekly backups in a folder (only backups it wrote)")
    p.add_argument("folder", type=Path, metavar="DIR")
    p.add_argument("--keep-daily", type=int, default=7, metavar="N", help="default: %(default)s")
    p.add_argument("--keep-weekly", type=int, default=4, metavar="M", help="default: %(default)s")
    p.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except BackupError as exc:
        print(f"basb-vault: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"basb-vault: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "backup":
        s = backup(args.vault, args.out, drill=args.drill)
        print(f"backup: {s.archive}: {s.files} files, {_human(s.bytes)}, {s.seconds:.2f} s")
        if s.skipped:
            print(f"skipped (temporary files, symlinks): {', '.join(s.skipped)}")
        return 0
    if args.command == "verify":
        manifest, diff = verify(args.archive, args.vault)
        for line in diff.lines():
            print(line)
        if not diff.ok:
            print(f"verify: {args.archive}: FAILED ({len(diff.lines())} differences)")
            return 1
        where = f" and {args.vault}" if args.vault else ""
        print(f"verify: {args.archive}{where}: OK, {len(manifest.files)} files, {_human(manifest.total_bytes)}")
        return 0
    if args.command == "restore":
        started = time.perf_counter()
        manifest = restore(args.archive, args.into, force=args.force)
        seconds = time.perf_counter() - started
        print(f"restore: {args.into}: {len(manifest.files)} files, {_human(manifest.total_bytes)}, {seconds:.2f} s")
        return 0
    pruned = prune(args.folder, keep_daily=args.keep_daily, keep_weekly=args.keep_weekly, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in pruned.deleted:
        print(f"{verb}: {path}")
    for path in pruned.left_alone:
        print(f"left alone (not a backup that basb-vault backup wrote under this name): {path}")
    print(
        f"prune: {args.folder}: kept {len(pruned.kept)}, {verb} {len(pruned.deleted)}, "
        f"left alone {len(pruned.left_alone)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
