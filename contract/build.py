"""Compile near-sdk-py contracts to Wasm with nearc, Debian's emscripten and a patched MicroPython port.

`python -m contract.build` builds `contract/signer/`, `contract/caller/` and `contract/gated/` into `contract/build/`.
`build_contract(source)` builds any contract (a single `.py` file, or a directory whose entry point is
`contract.py`) and returns the cached `.wasm` path.

How (and why not simply `nearc`):
- nearc's CLI insists on a venv inside containers, so we call `nearc.builder.compile_contract` (in a
  subprocess, which keeps its console output and `sys.exit` calls away from the caller).
- nearc builds in `<contract dir>/build` and runs make inside its MicroPython port: the sources are copied
  to a private temp directory, and builds are serialized with an fcntl lock.
- The port is not used as shipped: `contract/patches/webassembly-near.patch` fixes the two known
  toolchain hazards (see docs/contract.md). The build assembles a toolchain tree (symlinks to nearc's
  MicroPython, a patched copy of the port) and builds mpy-cross once for it.
- Native code: `contract/native/` (SHA3-256 and edwards25519 arithmetic in C, the `_chainsig` module) is
  copied into the port, with its generated base-point table; the patch adds it to the port's Makefile.
- nearc freezes ~70 micropython-lib packages into every contract; a contract whose sources import none of
  them and no site-packages library gets them excluded (each Wasm byte costs gas on every call).
- Outputs are cached by a hash of the sources, the nearc / near-sdk-py / emcc versions, the patch and the
  native sources.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from contract.errors import CompileError, ContractSourceError, ToolchainMissingError

__all__ = ["build_contract", "build_project_contracts", "cache_dir", "main"]

CONTRACT_DIR = Path(__file__).resolve().parent
PROJECT_OUTPUT_DIR = CONTRACT_DIR / "build"
PATCH_FILE = CONTRACT_DIR / "patches" / "webassembly-near.patch"
NATIVE_DIR = CONTRACT_DIR / "native"
NATIVE_SOURCES = ("chainsig_crypto.c", "chainsig_crypto.h", "modchainsig.c")
NATIVE_TABLE_GENERATOR = NATIVE_DIR / "ed25519_table_gen.py"
NATIVE_TABLE_HEADER = "ed25519_base_table.h"
PROJECT_CONTRACTS = {"signer": CONTRACT_DIR / "signer", "caller": CONTRACT_DIR / "caller", "gated": CONTRACT_DIR / "gated"}
DIRECTORY_ENTRY_POINT = "contract.py"
# Bump when the recipe below changes in a way that alters the produced Wasm.
RECIPE_VERSION = "2"
_LOG_TAIL_LINES = 60
# nearc's module scan skips any file whose absolute path contains one of these substrings.
_NEARC_EXCLUDED_PATH_PARTS = (".git", ".venv", "venv", "__pycache__", "build")


def cache_dir() -> Path:
    """Where toolchains and built Wasm are cached (`CHAINSIG_CONTRACT_CACHE` overrides)."""
    override = os.environ.get("CHAINSIG_CONTRACT_CACHE")
    return Path(override) if override else PROJECT_OUTPUT_DIR / ".cache"


def _nearc_package_dir() -> Path:
    try:
        import nearc
    except ImportError as exc:
        raise ToolchainMissingError("nearc is not installed; run `make setup`") from exc
    return Path(nearc.__file__).resolve().parent


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ToolchainMissingError(f"{name} is not installed; run `make setup`") from exc


def _emcc_version() -> str:
    emcc = shutil.which("emcc")
    if emcc is None:
        raise ToolchainMissingError("emcc (emscripten) not found on PATH; run `make setup`")
    done = subprocess.run([emcc, "--version"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolchainMissingError(f"`emcc --version` failed: {done.stderr.strip()}; run `make setup`")
    return done.stdout.splitlines()[0].strip()


def toolchain_fingerprint(patched: bool = True) -> str:
    """Hash of everything outside the contract sources that shapes the Wasm."""
    digest = hashlib.sha256()
    for part in (
        RECIPE_VERSION,
        _package_version("nearc"),
        _package_version("near-sdk-py"),
        _emcc_version(),
        PATCH_FILE.read_text() if patched else "unpatched",
        *((NATIVE_DIR / name).read_text() for name in NATIVE_SOURCES if patched),
        NATIVE_TABLE_GENERATOR.read_text() if patched else "",
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _contract_files(source: Path) -> tuple[Path, list[Path]]:
    """(root directory, files to copy relative to it) for a contract file or directory."""
    if source.is_file():
        if source.suffix != ".py":
            raise ContractSourceError(f"contract source must be a .py file or a directory: {source}")
        return source.parent, [Path(source.name)]
    if source.is_dir():
        if not (source / DIRECTORY_ENTRY_POINT).is_file():
            raise ContractSourceError(f"contract directory {source} has no {DIRECTORY_ENTRY_POINT}")
        files = sorted(
            path.relative_to(source)
            for path in source.rglob("*.py")
            if not any(part in path.relative_to(source).parts for part in ("__pycache__", "build"))
        )
        return source, files
    raise ContractSourceError(f"contract source does not exist: {source}")


def source_hash(source: Path) -> str:
    """Hash of a contract's sources (relative paths and contents)."""
    root, files = _contract_files(source)
    digest = hashlib.sha256()
    for rel in files:
        digest.update(str(rel).encode() + b"\0" + (root / rel).read_bytes() + b"\0")
    return digest.hexdigest()


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-_LOG_TAIL_LINES:])


def _prepare_toolchain(root: Path, fingerprint: str, patched: bool = True) -> Path:
    """A nearc assets tree whose port carries our patch (unless `patched` is False), with mpy-cross built once.
    Call under the lock."""
    toolchain = root / f"toolchain-{fingerprint[:16]}"
    ready = toolchain / ".ready"
    if ready.exists():
        return toolchain
    if toolchain.exists():
        shutil.rmtree(toolchain)
    upstream = _nearc_package_dir() / "micropython"
    micropython = toolchain / "micropython"
    micropython.mkdir(parents=True)
    for entry in upstream.iterdir():
        if entry.name != "ports":
            (micropython / entry.name).symlink_to(entry)
    (micropython / "ports").mkdir()
    for entry in (upstream / "ports").iterdir():
        if entry.name != "webassembly-near":
            (micropython / "ports" / entry.name).symlink_to(entry)
    port = micropython / "ports" / "webassembly-near"
    shutil.copytree(upstream / "ports" / "webassembly-near", port, ignore=shutil.ignore_patterns("__pycache__"))
    if patched:
        applied = subprocess.run(
            ["patch", "-p1", "--forward", "--batch", "-i", str(PATCH_FILE)],
            cwd=port, capture_output=True, text=True, check=False,
        )
        if applied.returncode != 0:
            raise CompileError(
                f"could not apply {PATCH_FILE.name} to nearc's port", _tail(applied.stdout + applied.stderr)
            )
        for name in NATIVE_SOURCES:
            shutil.copyfile(NATIVE_DIR / name, port / name)
        from contract.native.ed25519_table_gen import render

        (port / NATIVE_TABLE_HEADER).write_text(render())
    made = subprocess.run(
        ["make", "-C", str(micropython / "mpy-cross"), f"BUILD={toolchain / 'mpy-cross'}"],
        capture_output=True, text=True, check=False,
    )
    if made.returncode != 0:
        raise CompileError("building mpy-cross failed", _tail(made.stdout + made.stderr))
    ready.write_text(fingerprint)
    return toolchain


def _imported_modules(root: Path, files: list[Path]) -> set[str]:
    names: set[str] = set()
    for rel in files:
        for node in ast.walk(ast.parse((root / rel).read_text(), str(rel))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def stdlib_exclusions(source: Path) -> list[str]:
    """The micropython-lib packages nearc would freeze that this contract cannot use: none if it imports a
    site-packages library (which may need any of them), else every package whose module it does not import."""
    from nearc.analyzer import MPY_STDLIB_PACKAGES

    root, files = _contract_files(source)
    imported = _imported_modules(root, files)
    local = {rel.parts[0].removesuffix(".py") for rel in files}
    site_packages = _nearc_package_dir().parent
    for name in imported - local - {"near"}:
        if (site_packages / name).is_dir() or (site_packages / f"{name}.py").is_file():
            return []
    return [package for package in MPY_STDLIB_PACKAGES if re.split(r"[-.]", package)[0] not in imported]


_COMPILE_SNIPPET = """
import sys
from pathlib import Path
from nearc.builder import compile_contract
ok = compile_contract(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.prefix), Path(sys.argv[3]), False, sys.argv[4] == "1")
sys.exit(0 if ok else 1)
"""


def _compile(source: Path, toolchain: Path, output: Path) -> None:
    """Run nearc on a private copy of the sources. Call under the lock."""
    root, files = _contract_files(source)
    with tempfile.TemporaryDirectory(prefix="chainsig-nearc-") as tmp:
        work = Path(tmp) / "src"
        if any(part in str(work) for part in _NEARC_EXCLUDED_PATH_PARTS):
            raise CompileError(f"temporary directory {work} contains a path part nearc skips; set TMPDIR")
        for rel in files:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, work / rel)
        entry = work / (files[0] if source.is_file() else Path(DIRECTORY_ENTRY_POINT))
        excluded = stdlib_exclusions(source)
        if excluded:  # nearc reads its exclusions from a pyproject.toml beside the entry point
            listed = ", ".join(f'"{name}"' for name in excluded)
            (entry.parent / "pyproject.toml").write_text(
                f"[tool.near-py-tool]\nexclude-micropython-stdlib-packages = [{listed}]\n")
        mpy_cross = work / "build" / "mpy-cross"
        mpy_cross.mkdir(parents=True)
        shutil.copy2(toolchain / "mpy-cross" / "mpy-cross", mpy_cross / "mpy-cross")
        built = Path(tmp) / "out.wasm"
        single_file = "1" if source.is_file() else "0"
        env = dict(os.environ, COLUMNS="200", TERM="dumb")
        done = subprocess.run(
            [sys.executable, "-c", _COMPILE_SNIPPET, str(entry), str(built), str(toolchain), single_file],
            capture_output=True, text=True, check=False, env=env,
        )
        if done.returncode != 0 or not built.exists():
            raise CompileError(f"nearc failed to compile {source}", _tail(done.stdout + done.stderr))
        output.parent.mkdir(parents=True, exist_ok=True)
        staged = output.with_suffix(".tmp")
        shutil.copyfile(built, staged)
        staged.replace(output)


def build_contract(source: Path, name: str | None = None, *, patched: bool = True) -> Path:
    """Compile a contract (a `.py` file, or a directory with `contract.py`) and return its cached Wasm.

    A second call with unchanged sources and toolchain returns at once. `patched=False` builds with nearc's
    port as shipped (without contract/patches/webassembly-near.patch), for tests that reproduce the hazards
    the patch fixes. Raises `ToolchainMissingError` (run `make setup`), `ContractSourceError` or `CompileError`.
    """
    source = Path(source).resolve()
    label = (name or (source.stem if source.is_file() else source.name)) + ("" if patched else "-unpatched")
    fingerprint = toolchain_fingerprint(patched)
    key = hashlib.sha256(f"{fingerprint}:{source_hash(source)}".encode()).hexdigest()
    root = cache_dir()
    output = root / "wasm" / f"{label}-{key[:20]}.wasm"
    if output.exists():
        return output
    with _build_lock(root):
        if output.exists():  # another process built it while we waited
            return output
        toolchain = _prepare_toolchain(root, fingerprint, patched)
        _compile(source, toolchain, output)
    return output


def build_project_contracts(output_dir: Path = PROJECT_OUTPUT_DIR) -> dict[str, Path]:
    """Build the signer, caller and gated example into `output_dir/<name>.wasm`; return their paths."""
    built: dict[str, Path] = {}
    for name, source in PROJECT_CONTRACTS.items():
        cached = build_contract(source, name)
        target = output_dir / f"{name}.wasm"
        if not target.exists() or target.read_bytes() != cached.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, target)
        built[name] = target
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract.build", description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="contract files/directories (default: signer and caller)")
    args = parser.parse_args(argv)
    try:
        if args.sources:
            for source in args.sources:
                print(build_contract(source))
        else:
            for name, path in build_project_contracts().items():
                print(f"{name}: {path} ({path.stat().st_size // 1024} KiB)")
    except (ToolchainMissingError, ContractSourceError, CompileError) as exc:
        print(f"contract.build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
