"""Build the reference BASB service images without any image registry.

1. Base `basb/base:bookworm`: Debian bookworm with python3 + venv, made with `debootstrap` from the
   Debian mirror this machine's apt sources name, then `docker import`ed. Built once per machine.
2. A build context: the project's wheel, its dependencies as wheels for the base's Python (a local
   wheelhouse, refreshed when the project's requirements change) and the service scripts of fixtures/services.
3. One image per service of the inventory's `staging` environment (tags from `container.image`),
   all from deploy/images/Dockerfile; the layer cache makes a rebuild after a code change quick.

Usage: python deploy/images/build_images.py [--env staging] [--inventory basb-inventory.yaml]
       [--tag TAG] [--if-missing] [--rebuild-base]. Prints the seconds each step took.
`make images TAG=1.1` builds a release's tags; earlier tags stay (deploy/scripts roll back to them).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import CompletedProcess
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_basb.inventory.load import Environment

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "images"
BASE_IMAGE = "basb/base:bookworm"
IMAGE_LABEL = "org.pytest-basb.image=reference"  # set by the Dockerfile on every reference image
SUITE = "bookworm"
GLIBC_MINOR = 36  # bookworm's glibc 2.36: wheels for manylinux_2_36 and older run on the base
PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Trimmed from the base: documentation, translations and apt's caches are not needed to run Python.
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--env", default="staging", help="inventory environment whose container images to build")
    parser.add_argument("--inventory", type=Path, default=ROOT / "basb-inventory.yaml")
    parser.add_argument("--if-missing", action="store_true", help="build only when an image is missing")
    parser.add_argument("--rebuild-base", action="store_true", help="debootstrap the base again")
    parser.add_argument("--tag", help="tag the images NAME:TAG instead of the inventory's tag (a release)")
    args = parser.parse_args(argv)
    try:
        images = service_images(args.inventory, args.env)
        if args.tag:
            images = {service: f"{image.rsplit(':', 1)[0]}:{args.tag}" for service, image in images.items()}
        if args.if_missing and all(image_exists(image) for image in images.values()):
            print(f"images: all {len(images)} present ({', '.join(sorted(images.values()))}); not rebuilt")
            return 0
        with step("base image"):
            python = ensure_base(rebuild=args.rebuild_base)
        with step("build context (project wheel, wheelhouse, services)"):
            context = prepare_context(python, {service_script(args.inventory, args.env, s) for s in images})
        for service, image in sorted(images.items()):
            with step(f"image {image}"):
                build_image(context, service_script(args.inventory, args.env, service), image)
    except BuildError as exc:
        print(f"build_images: {exc}", file=sys.stderr)
        return 1
    # Earlier builds of these tags, now untagged (the base and the build cache are kept).
    run("docker", "image", "prune", "--force", "--filter", f"label={IMAGE_LABEL}")
    for image in sorted(images.values()):
        print(f"{image}  {image_size_mb(image):.0f} MB")
    return 0


class BuildError(RuntimeError):
    """A step failed; the message says which and how to fix it."""


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"-- {name} ...", flush=True)
    yield
    print(f"-- {name}: {time.monotonic() - started:.1f} s", flush=True)


def run(*argv: str, env: dict[str, str] | None = None, stdin: IO[bytes] | None = None) -> CompletedProcess[str]:
    result = subprocess.run(list(argv), text=True, capture_output=True, check=False, env=env, stdin=stdin)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise BuildError(f"`{' '.join(argv[:3])} ...` failed with exit code {result.returncode}:\n{tail}")
    return result


# --- inventory -----------------------------------------------------------------------------------


def _environment(inventory: Path, env: str) -> Environment:
    from pytest_basb.inventory.load import InventoryError, load_environment

    # ${BASB_VAULT} names the run's vault copy; any value resolves the inventory here.
    try:
        return load_environment(inventory, env, {**os.environ, "BASB_VAULT": os.environ.get("BASB_VAULT", "/vault")})
    except InventoryError as exc:
        raise BuildError(str(exc)) from None


def service_images(inventory: Path, env: str) -> dict[str, str]:
    """service id -> image tag, for every service of `env` that declares a container."""
    environment = _environment(inventory, env)
    images = {s.id: s.container.image for s in environment.services if s.container}
    if not images:
        raise BuildError(f"{inventory}: environment {env} has no service with `container: {{image: ...}}`.")
    return images


def service_script(inventory: Path, env: str, service_id: str) -> str:
    """The fixtures/services script the service runs (`command` or `launch`), without `.py`."""
    service = _environment(inventory, env).service(service_id)
    for arg in (*service.command, *service.launch):
        path = Path(arg)
        if path.suffix == ".py" and (ROOT / "fixtures" / "services" / path.name).is_file():
            return path.stem
    raise BuildError(f"{inventory}: {service_id}: no fixtures/services/*.py in its `command` or `launch`.")


# --- base ----------------------------------------------------------------------------------------


def image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


def image_size_mb(image: str) -> float:
    return int(run("docker", "image", "inspect", "--format", "{{.Size}}", image).stdout.strip()) / 1e6


def ensure_base(*, rebuild: bool) -> str:
    """The base image's Python version ("3.11"), debootstrapping the base when it is missing."""
    if image_exists(BASE_IMAGE) and not rebuild:
        label = run("docker", "image", "inspect", "--format", '{{index .Config.Labels "basb.python"}}', BASE_IMAGE)
        print(f"   {BASE_IMAGE} present: reused")
        return label.stdout.strip()
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: apt-get install -y debootstrap")
    mirror = debian_mirror()
    print(f"   debootstrap {SUITE} from {mirror}")
    with tempfile.TemporaryDirectory(prefix="basb-rootfs-", dir=_build_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            mirror,
        )
        for relative in TRIM:
            shutil.rmtree(rootfs / relative, ignore_errors=True)
            (rootfs / relative).mkdir(parents=True, exist_ok=True)
        python = re.sub(r"^python", "", os.readlink(rootfs / "usr/bin/python3"))
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        run(
            "docker",
            "import",
            "--change",
            f"LABEL basb.python={python} basb.suite={SUITE}",
            "--change",
            'CMD ["/bin/bash"]',
            "-",
            BASE_IMAGE,
            stdin=tar.stdout,
        )
        if tar.wait() != 0:
            raise BuildError("tar of the debootstrapped rootfs failed")
    return python


def _build_dir() -> Path:
    BUILD.mkdir(parents=True, exist_ok=True)
    return BUILD


def debian_mirror() -> str:
    """The first Debian archive (not -security) in this machine's apt sources; env BASB_DEBIAN_MIRROR wins."""
    if os.environ.get("BASB_DEBIAN_MIRROR"):
        return os.environ["BASB_DEBIAN_MIRROR"]
    files: list[Path] = []
    for source in APT_SOURCES:
        files += [*source.glob("*.list"), *source.glob("*.sources")] if source.is_dir() else [source]
    for file in (f for f in files if f.is_file()):
        text = file.read_text(encoding="utf-8", errors="replace")
        for uri, suites in _apt_entries(text, deb822=file.suffix == ".sources"):
            if "debian" in uri and not any(s.endswith("-security") for s in suites):
                return uri
    raise BuildError(
        "no Debian mirror in /etc/apt/sources.list(.d); set BASB_DEBIAN_MIRROR to one (a URL of a Debian archive)."
    )


def _apt_entries(text: str, *, deb822: bool) -> Iterator[tuple[str, list[str]]]:
    if not deb822:
        for line in text.splitlines():
            parts = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(parts) >= 3 and parts[0] == "deb":
                yield parts[1], parts[2:3]
        return
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith(("#", " ")):
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes").lower() != "no":
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()


# --- context and images --------------------------------------------------------------------------


def prepare_context(python: str, scripts: set[str]) -> Path:
    """build/images/context: Dockerfile, wheels/project, wheels/deps (cached), services/."""
    context = BUILD / "context"
    context.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(__file__).with_name("Dockerfile"), context / "Dockerfile")
    project = context / "wheels" / "project"
    shutil.rmtree(project, ignore_errors=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}  # same sources -> same wheel bytes -> cache hit
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(project), str(ROOT), env=env)
    _wheelhouse(context / "wheels" / "deps", python, next(project.glob("*.whl")))
    services = context / "services"
    shutil.rmtree(services, ignore_errors=True)
    services.mkdir()
    for name in (*sorted(scripts), "basb_vault_lib"):
        shutil.copy2(ROOT / "fixtures" / "services" / f"{name}.py", services / f"{name}.py")
    return context


def _wheelhouse(deps: Path, python: str, wheel: Path) -> None:
    """The project's dependency closure as wheels for the base's CPython; kept while its requirements hold."""
    stamp = deps.with_suffix(".stamp")  # beside, not inside: the folder is COPYed, a change would bust the cache
    wanted = "\n".join([f"python {python}", *_requirements(wheel)])
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        print(f"   wheelhouse {deps.relative_to(ROOT)}: reused ({len(list(deps.glob('*.whl')))} wheels)")
        return
    shutil.rmtree(deps, ignore_errors=True)
    version = python.replace(".", "")
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--dest",
        str(deps),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python,
        "--abi",
        f"cp{version}",
        *_platform_args(),
        str(wheel),
    )
    for own in deps.glob("pytest_basb-*.whl"):
        own.unlink()
    stamp.write_text(wanted, encoding="utf-8")


def _requirements(wheel: Path) -> list[str]:
    """The wheel's own Requires-Dist lines (without extras): what the wheelhouse must satisfy."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(name).decode("utf-8").splitlines()
    return sorted(line for line in lines if line.startswith("Requires-Dist:") and "extra ==" not in line)


def _platform_args() -> list[str]:
    """Bookworm has glibc 2.36: every manylinux tag up to it (pip does not expand `manylinux_2_36` itself)."""
    arch = platform.machine()
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 16, -1)]
    tags += [f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}", f"linux_{arch}"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def build_image(context: Path, script: str, image: str) -> None:
    # The legacy builder: the docker.io package ships no buildx, and its cache is all we need here.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    run("docker", "build", "--quiet", "--build-arg", f"SERVICE={script}", "--tag", image, str(context), env=env)


if __name__ == "__main__":
    sys.exit(main())
