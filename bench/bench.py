#!/usr/bin/env python3
"""xctoken's benchmark: what a token costs, next to what users would run instead.

    source scripts/venv.sh
    python bench/bench.py                    full run: 7 runs per figure, container and actions included
    python bench/bench.py --quick            one run each, no container, no act: checks the bench works
    python bench/bench.py --quick --container --actions   ...and the container and action parts, once
    python bench/bench.py --no-container --action-rounds 24   the actions only, 24 interleaved rounds

It prints a table of ratios measured in this one run, each budget marked PASS or
OVER (a report, never a test assertion), then the numbers behind them (median,
min, max, runs) and the machine they were measured on.

1. CLI cold start: ``xctoken generate`` as a whole process, against a script that
   only loads the key with cryptography and signs (bench/minimal_cryptography.py:
   what any Python tool must do), a minimal PyJWT script (bench/minimal_pyjwt.py)
   and a shell pipeline around the openssl CLI (bench/openssl_token.sh, the
   process floor). All run in one venv made like a user's install (xctoken on a
   plain path, bytecode compiled, no editable-install finder), read the same key
   file and make the same header and claims; runs are interleaved after warm-up
   runs that fill the page cache. Also checked: no GitHub-only module on that path.
2. In-process: tokens per second from ``Signer.sign`` with a key loaded once,
   against raw ECDSA P-256 signing of the same input with cryptography.
3. Container: ``docker run`` to token with the built image, the size the image
   adds to its base (as docker counts it, and gzip-compressed per layer: what a
   pull downloads), and the cold ``docker build --no-cache`` time.
4. Actions, as a GitHub runner runs them: act (nektos/act) runs one job per
   variant in a throwaway copy of the repository (bench/act-workflow.yml): the
   container action from a prebuilt image, from the Dockerfile (warm: layers
   cached; cold: every layer after FROM built again), the portable action (once,
   and twice in a job), a minimal node20 action signing the same token with jose
   (bench/node-action, the stand-in for the node actions people use instead), and
   a baseline job with one ``run: true`` step: act's own cost of a job. Rounds are
   interleaved (every variant once, then again); each job's wall time is timed,
   and act's per-step times and the portable action's own log say where it goes.

Every token an alternative produced is verified here with cryptography alone
(raw R || S converted to DER), independently of xctoken and PyJWT, and the action
tokens also with the openssl CLI; a figure whose token does not verify is a
failure (exit 1), not a number.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KEY_ID = "2X9R4HXF34"
ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
AUDIENCE = "appstoreconnect-v1"
STANDIN_BASE = "xctoken-standin/python:3.11-slim"
IMAGE_TAG = f"xctoken-bench:{os.getpid()}"  # per run: parallel runs must not share a tag

CLI_BUDGET = 1.20  # xctoken generate <= 1.20 x the cryptography-only script
PYJWT_BUDGET = 1.00  # ...and still under the minimal PyJWT script
LIBRARY_BUDGET = 0.60  # Signer.sign >= 60% of raw ECDSA signing
IMAGE_BUDGET_MB = 30.0  # MB as docker counts them (10**6 bytes)
IMAGE_COMPRESSED_BUDGET_MB = 8.0  # xctoken's own layers, gzip-compressed: what a pull adds to the base
PORTABLE_BUDGET = 2.00  # the portable action's job <= 2.0 x the node stand-in's, under act
PREBUILT_BUDGET = 1.15  # the container action's job (prebuilt image) <= 1.15 x the node stand-in's

# Top-level modules actions-toolkit brings in, used when it is not installed.
FALLBACK_GITHUB_ONLY = ("actions_toolkit", "github", "requests", "urllib3", "nacl", "certifi", "idna",
                        "charset_normalizer")

CLI_ROWS = (
    "CLI cold start vs cryptography-only script",
    "CLI cold start vs minimal PyJWT",
    "CLI cold start vs openssl pipeline",
    "GitHub-only modules on the CLI path",
)
LIBRARY_ROWS = (
    "library tokens/s vs raw ECDSA",
    "key parses while signing",
    "mint_token tokens/s vs raw ECDSA",
    "PyJWT (loaded key) tokens/s vs raw ECDSA",
    "PyJWT (PEM per token) tokens/s vs raw ECDSA",
)
CONTAINER_ROWS = (
    "image size over base",
    "image layers over base, compressed",
    "docker run to token vs CLI",
    "cold docker build vs docker run",
)
ACTION_ROWS = (
    "portable action job vs node action",
    "container action job (prebuilt) vs node action",
    "container action job (Dockerfile, warm) vs node",
    "container action job (Dockerfile, cold) vs node",
    "portable action, second use in a job",
    "no-op composite action job vs node",
)
ROWS = CLI_ROWS + LIBRARY_ROWS + CONTAINER_ROWS + ACTION_ROWS


class BenchError(Exception):
    """A figure could not be measured honestly (a command failed, a token did not verify)."""


@dataclass
class Series:
    """One measured quantity over several runs."""

    name: str
    unit: str  # "ms", "s", "tokens/s", "MB"
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def describe(self) -> str:
        return (f"{self.name:<44} median {fmt(self.median, self.unit):>12}  min {fmt(min(self.values), self.unit):>12}"
                f"  max {fmt(max(self.values), self.unit):>12}  runs {len(self.values)}")


@dataclass
class Row:
    figure: str
    ours: str = ""
    theirs: str = ""
    ratio: str = ""
    budget: str = ""
    status: str = "info"


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "tokens/s":
        return f"{value:,.0f}/s"
    return f"{value:.1f} {unit}"


# --- tokens, checked without xctoken or PyJWT -----------------------------------------------


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_token(token: str, public_key: ec.EllipticCurvePublicKey, now: float | None = None) -> dict[str, object]:
    """Check an ES256 App Store Connect token with cryptography alone; return its claims."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise BenchError(f"not a compact JWS ({len(parts)} segments)")
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    if header != {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}:
        raise BenchError(f"unexpected header {header}")
    if claims.get("iss") != ISSUER_ID or claims.get("aud") != AUDIENCE:
        raise BenchError("unexpected iss or aud claim")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (isinstance(iat, int) and isinstance(exp, int) and 0 < exp - iat <= 1200):
        raise BenchError("iat/exp are not integers at most 20 minutes apart")
    moment = time.time() if now is None else now
    if not iat <= moment < exp:
        raise BenchError("the token is not valid now")
    signature = b64url_decode(parts[2])
    if len(signature) != 64:
        raise BenchError(f"the signature is {len(signature)} bytes, not the 64 of raw R || S")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BenchError("the signature does not verify") from None
    return dict(claims)


# --- the workspace: a throwaway key, the commands under test --------------------------------


@dataclass
class Workspace:
    directory: Path
    private_key: ec.EllipticCurvePrivateKey

    @property
    def key_path(self) -> Path:
        return self.directory / f"AuthKey_{KEY_ID}.p8"

    @property
    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def create(cls, directory: Path) -> Workspace:
        workspace = cls(directory, ec.generate_private_key(ec.SECP256R1()))
        fd = os.open(workspace.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(workspace.pem)
        return workspace


def xctoken_command() -> list[str]:
    """``xctoken`` as users run it: the console script next to this interpreter."""
    script = Path(sys.executable).parent / "xctoken"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "xctoken"]


def child_env() -> dict[str, str]:
    """The same small environment for every process: no credentials or CI markers leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if k in keep}


def cli_commands(workspace: Workspace, python: Path | None = None) -> dict[str, list[str]]:
    """The CLI alternatives, run with ``python`` (a venv from :func:`user_venv`) or this interpreter."""
    key = str(workspace.key_path)
    interpreter = str(python) if python else sys.executable
    xctoken = [str(python.parent / "xctoken")] if python else xctoken_command()
    return {
        "xctoken generate": [*xctoken, "generate", "--key", key, "--key-id", KEY_ID, "--issuer-id", ISSUER_ID],
        "cryptography-only script": [interpreter, str(BENCH / "minimal_cryptography.py"), key, KEY_ID, ISSUER_ID],
        "minimal PyJWT script": [interpreter, str(BENCH / "minimal_pyjwt.py"), key, KEY_ID, ISSUER_ID],
        "openssl pipeline": ["sh", str(BENCH / "openssl_token.sh"), key, KEY_ID, ISSUER_ID],
        "python -c pass": [interpreter, "-c", "pass"],
    }


# pip's console script for a wheel's entry point, as `pip install xctoken` writes it.
CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from xctoken.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def user_venv(directory: Path) -> Path:
    """A venv where xctoken and its dependencies are found as after ``pip install xctoken``; its python.

    The dev venv holds xctoken as an editable install, whose import finder (a .pth
    run by ``site``) imports pathlib, re, enum, urllib.parse and more into every
    process of that venv, the alternatives' included: about 9 ms of shared start
    that would flatter every ratio. Here the dependencies are the dev venv's own
    (one plain path line), xctoken sits on another plain path (as the Docker image
    has it), and ``xctoken`` is pip's console script.
    """
    import sysconfig
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(directory)
    python = directory / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        capture_output=True, text=True, check=True).stdout.strip())
    source = directory / "xctoken-source"
    source.mkdir()
    (source / "xctoken").symlink_to(ROOT / "xctoken", target_is_directory=True)
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site_packages / "bench-dependencies.pth").write_text("".join(f"{d}\n" for d in sorted(dependencies)))
    (site_packages / "xctoken.pth").write_text(f"{source}\n")
    script = python.parent / "xctoken"
    script.write_text(CONSOLE_SCRIPT.format(python=python))
    script.chmod(0o755)
    return python


def run_for_token(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, env=child_env() if env is None else env, timeout=600)
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no stderr)"]
        raise BenchError(f"{Path(argv[0]).name} exited {result.returncode}: {tail[0][:200]}")
    return result.stdout.decode().strip()


def compile_package_bytecode() -> None:
    """Compile xctoken's modules as ``pip install`` does for a wheel.

    An editable install (the dev setup) never writes bytecode ahead, and with
    PYTHONDONTWRITEBYTECODE set not at run time either: xctoken would then be
    charged a source compile on every start that PyJWT (installed with its
    bytecode) never pays.
    """
    import xctoken

    compileall.compile_dir(str(Path(xctoken.__file__).parent), quiet=1)


def time_processes(commands: dict[str, list[str]], runs: int, warmup: int) -> dict[str, Series]:
    """Wall time of each command as a whole process, interleaved run by run."""
    env = child_env()
    for _ in range(warmup):  # page cache, bytecode, dynamic linker caches
        for argv in commands.values():
            subprocess.run(argv, capture_output=True, env=env, timeout=600)
    series = {name: Series(name, "ms") for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            result = subprocess.run(argv, capture_output=True, env=env, timeout=600)
            elapsed = time.perf_counter() - started
            if result.returncode != 0:
                raise BenchError(f"{name} exited {result.returncode} during timing")
            series[name].values.append(elapsed * 1000)
    return series


# --- the GitHub-only import rule ------------------------------------------------------------


def github_only_modules() -> tuple[list[str], str]:
    """Top-level modules actions-toolkit imports that the core library does not."""
    probe = (
        "import json, re, sys\n"
        "from importlib.metadata import packages_distributions, requires\n"
        "import xctoken, xctoken.signing, xctoken.keys\n"
        "core = {m.split('.')[0] for m in sys.modules}\n"
        "import actions_toolkit.core, actions_toolkit.command, actions_toolkit.file_command\n"
        "try:\n"
        "    import actions_toolkit.github  # needs PyGithub, which a trimmed install may lack\n"
        "    partial = False\n"
        "except ImportError:\n"
        "    partial = True\n"
        "new = {m.split('.')[0] for m in sys.modules} - core - set(sys.stdlib_module_names)\n"
        "# xctoken's own (non-extra) dependencies are not GitHub-only, imported or not\n"
        "wanted = {re.split(r'[ ;\\[<>=!~]', r, maxsplit=1)[0].lower()\n"
        "          for r in requires('xctoken') or () if 'extra ==' not in r}\n"
        "declared = {top for top, dists in packages_distributions().items()\n"
        "            if any(d.lower() in wanted for d in dists)}\n"
        "print(json.dumps({'modules': sorted(new - declared), 'partial': partial}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=child_env(), timeout=120)
    if result.returncode != 0:
        return list(FALLBACK_GITHUB_ONLY), "fixed list (actions-toolkit is not installed here)"
    found = json.loads(result.stdout)
    if found["partial"]:
        return (sorted(set(found["modules"]) | set(FALLBACK_GITHUB_ONLY)),
                "what importing actions-toolkit adds to the core, plus a fixed list (PyGithub is not installed)")
    return sorted(set(found["modules"]) | {"actions_toolkit"}), "what importing actions-toolkit adds to the core"


def modules_imported_by(argv: Sequence[str]) -> tuple[set[str], str]:
    """Every module a Python command imports (``-X importtime``), and its stdout."""
    if argv[0] == sys.executable:
        traced = [sys.executable, "-X", "importtime", *argv[1:]]
    else:  # the console script: run it with the same interpreter
        traced = [sys.executable, "-X", "importtime", *argv]
    result = subprocess.run(traced, capture_output=True, env=child_env(), timeout=120)
    if result.returncode != 0:
        raise BenchError(f"the traced CLI run exited {result.returncode}")
    names = set()
    for line in result.stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    if "xctoken.cli" not in names:
        raise BenchError("-X importtime did not trace the CLI (no xctoken.cli import seen)")
    return names, result.stdout.decode().strip()


def github_only_hits(names: set[str], forbidden: Sequence[str]) -> list[str]:
    return sorted(n for n in names if n.split(".")[0] in forbidden or n.startswith("xctoken.ci.github"))


def github_modules_on_cli_path(workspace: Workspace) -> tuple[list[str], list[str], str]:
    """(GitHub-only modules the CLI imported, the modules checked for, how that list was made)."""
    forbidden, origin = github_only_modules()
    names, token = modules_imported_by(cli_commands(workspace)["xctoken generate"])
    verify_token(token, workspace.private_key.public_key())
    return github_only_hits(names, forbidden), [*forbidden, "xctoken.ci.github"], origin


# --- in-process signing ---------------------------------------------------------------------


def library_candidates(workspace: Workspace) -> dict[str, Callable[[], object]]:
    import jwt

    from xctoken import Signer, TokenRequest, load_private_key, mint_token

    loaded = load_private_key(workspace.key_path.read_bytes())  # once, for every candidate
    request = TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID)
    signer = Signer(request, loaded)
    signing_input = signer.sign().value.rsplit(".", 1)[0].encode("ascii")
    private_key, ecdsa = loaded.private_key, ec.ECDSA(hashes.SHA256())
    pem = workspace.pem
    headers = {"kid": KEY_ID, "typ": "JWT"}

    def claims() -> dict[str, object]:
        issued_at = int(time.time()) - 60
        return {"iss": ISSUER_ID, "iat": issued_at, "exp": issued_at + 1200, "aud": AUDIENCE}

    return {
        "raw ECDSA sign (cryptography)": lambda: private_key.sign(signing_input, ecdsa),
        "Signer.sign": signer.sign,
        "mint_token": lambda: mint_token(request, loaded),
        "PyJWT encode, loaded key": lambda: jwt.encode(claims(), private_key, algorithm="ES256", headers=headers),
        "PyJWT encode, PEM per token": lambda: jwt.encode(claims(), pem, algorithm="ES256", headers=headers),
    }


def check_library_outputs(candidates: dict[str, Callable[[], object]], workspace: Workspace) -> None:
    public_key = workspace.private_key.public_key()
    for name, make in candidates.items():
        produced = make()
        if name.startswith("raw"):
            continue  # a bare DER signature, checked by cryptography's own tests
        verify_token(getattr(produced, "value", produced), public_key)  # type: ignore[arg-type]


def time_library(candidates: dict[str, Callable[[], object]], tokens: int, rounds: int) -> dict[str, Series]:
    series = {name: Series(name, "tokens/s") for name in candidates}
    for make in candidates.values():  # warm up
        for _ in range(max(10, tokens // 20)):
            make()
    for _ in range(rounds):
        for name, make in candidates.items():
            started = time.perf_counter()
            for _ in range(tokens):
                make()
            series[name].values.append(tokens / (time.perf_counter() - started))
    return series


def key_parses_during(action: Callable[[], object], times: int) -> int:
    """How many times a key is loaded or parsed while ``action`` runs ``times`` times."""
    import xctoken.keys
    import xctoken.signing

    calls = 0
    patched: list[tuple[object, str, object]] = []

    def counting(original: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            return original(*args, **kwargs)
        return wrapper

    targets = [(serialization, name) for name in ("load_pem_private_key", "load_der_private_key")]
    targets += [(xctoken.keys, "load_private_key"), (xctoken.signing, "load_private_key")]
    for module, name in targets:
        if hasattr(module, name):
            original = getattr(module, name)
            patched.append((module, name, original))
            setattr(module, name, counting(original))
    try:
        for _ in range(times):
            action()
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
    return calls


# --- the container --------------------------------------------------------------------------


def docker(*args: str, timeout: float = 1800, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else {**os.environ})


def default_base_image() -> tuple[str | None, str]:
    """(BASE_IMAGE build arg or None, the base image name) for this machine."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    declared = next((line.split("=", 1)[1].strip() for line in dockerfile.splitlines()
                     if line.strip().startswith("ARG BASE_IMAGE=")), None)
    if docker("image", "inspect", STANDIN_BASE).returncode == 0 and (
        declared is None or docker("image", "inspect", declared).returncode != 0
    ):
        return STANDIN_BASE, STANDIN_BASE  # the public base cannot be pulled here
    if declared is None:
        raise BenchError("the Dockerfile declares no ARG BASE_IMAGE; pass --base-image")
    return None, declared


def layer_bytes(image: str) -> list[int]:
    result = docker("history", "--human=false", "--no-trunc", "--format", "{{.Size}}", image)
    if result.returncode != 0:
        raise BenchError(f"docker history {image} failed: {result.stderr.strip()[:200]}")
    return [int(line) for line in result.stdout.split()]


def image_bytes(image: str) -> int:
    result = docker("image", "inspect", "--format", "{{.Size}}", image)
    if result.returncode != 0:
        raise BenchError(f"docker image inspect {image} failed: {result.stderr.strip()[:200]}")
    return int(result.stdout.strip())


def root_layers(image: str) -> list[str]:
    result = docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image)
    if result.returncode != 0:
        raise BenchError(f"docker image inspect {image} failed: {result.stderr.strip()[:200]}")
    return list(json.loads(result.stdout))


def compressed_layer_bytes(image: str, base: str) -> tuple[int, int]:
    """(xctoken's own layers, the base's layers), each layer gzip-compressed (level 6) and summed.

    What a registry stores and a pull downloads: ``docker push`` gzips every layer
    tar on its own (Go's default level, 6). Measured on ``docker save``'s layer tars.
    """
    ours, theirs = root_layers(image), root_layers(base)
    if ours[: len(theirs)] != theirs:
        raise BenchError(f"the image's bottom layers are not {base}'s")
    sizes: dict[str, int] = {}
    manifest: list[dict[str, list[str]]] = []
    saver = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    assert saver.stdout is not None  # nosec B101
    with tarfile.open(fileobj=saver.stdout, mode="r|") as archive:
        for member in archive:
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is None:
                continue
            if member.name == "manifest.json":
                manifest = json.loads(handle.read())
            elif member.name.endswith("layer.tar"):
                packer, size = zlib.compressobj(6, zlib.DEFLATED, 31), 0  # 31: the gzip container
                while chunk := handle.read(1 << 20):
                    size += len(packer.compress(chunk))
                sizes[member.name] = size + len(packer.flush())
    if saver.wait() != 0 or not manifest:
        raise BenchError(f"docker save {image} failed")
    layers = [str(name) for name in manifest[0]["Layers"]]
    if len(layers) != len(ours):
        raise BenchError("docker save listed a different number of layers than docker image inspect")
    base_part = sum(sizes[name] for name in layers[: len(theirs)])
    return sum(sizes[name] for name in layers[len(theirs):]), base_part


@dataclass
class ContainerFigures:
    base: str
    base_note: str
    build: Series
    run: Series
    cli: Series
    added_mb: float
    added_mb_inspect: float
    added_compressed_mb: float = 0.0
    base_compressed_mb: float = 0.0


def container_figures(workspace: Workspace, runs: int, base_image: str | None) -> ContainerFigures:
    if shutil.which("docker") is None or docker("info", timeout=60).returncode != 0:
        raise BenchError("no Docker engine answers (run `bash .ci/provision.sh` first)")
    if not (ROOT / "Dockerfile").is_file():
        raise BenchError("there is no Dockerfile at the repository root yet")
    if base_image:
        build_arg, base = base_image, base_image
    else:
        build_arg, base = default_base_image()
    note = f"BASE_IMAGE={build_arg} (stand-in for the Dockerfile's public base)" if build_arg else "Dockerfile's base"
    build_cmd = ["build", "--no-cache", "--quiet", "-t", IMAGE_TAG]
    if build_arg:
        build_cmd += ["--build-arg", f"BASE_IMAGE={build_arg}"]
    build_cmd.append(str(ROOT))
    built: list[str] = []
    build = Series("cold docker build --no-cache", "s")
    try:
        for _ in range(runs):
            started = time.perf_counter()
            result = docker(*build_cmd)
            build.values.append(time.perf_counter() - started)
            if result.returncode != 0:
                raise BenchError(f"docker build failed: {result.stderr.strip().splitlines()[-1:]}")
            built.append(result.stdout.strip())
        base_layers, image_layers = layer_bytes(base), layer_bytes(IMAGE_TAG)
        if image_layers[len(image_layers) - len(base_layers):] != base_layers:
            raise BenchError(f"the image's bottom layers are not {base}'s: is it built FROM another base?")
        added = sum(image_layers[: len(image_layers) - len(base_layers)]) / 1e6
        added_inspect = (image_bytes(IMAGE_TAG) - image_bytes(base)) / 1e6
        ours_gz, base_gz = compressed_layer_bytes(IMAGE_TAG, base)

        # The key travels as a CI secret would: an environment variable passed by name.
        env = {**os.environ, "ASC_PRIVATE_KEY": workspace.pem.decode(), "ASC_KEY_ID": KEY_ID,
               "ASC_ISSUER_ID": ISSUER_ID}
        run_cmd = ["docker", "run", "--rm", "-e", "ASC_PRIVATE_KEY", "-e", "ASC_KEY_ID", "-e", "ASC_ISSUER_ID",
                   IMAGE_TAG, "generate"]
        verify_token(run_for_token(run_cmd, env), workspace.private_key.public_key())
        cli_argv = cli_commands(workspace)["xctoken generate"]
        run, cli = Series("docker run to token", "ms"), Series("xctoken generate (host)", "ms")
        subprocess.run(run_cmd, capture_output=True, env=env, timeout=600)  # warm-up
        for _ in range(runs):
            for series, argv, argv_env in ((run, run_cmd, env), (cli, cli_argv, child_env())):
                started = time.perf_counter()
                result = subprocess.run(argv, capture_output=True, env=argv_env, timeout=600)
                series.values.append((time.perf_counter() - started) * 1000)
                if result.returncode != 0:
                    raise BenchError(f"{series.name} exited {result.returncode}")
        return ContainerFigures(base, note, build, run, cli, added, added_inspect, ours_gz / 1e6, base_gz / 1e6)
    finally:
        for image_id in dict.fromkeys(reversed(built)):
            docker("rmi", "--force", image_id)


# --- the actions, under act -----------------------------------------------------------------

ACT = ROOT / ".ci" / "tools" / "bin" / "act"
ACT_WORKFLOW = BENCH / "act-workflow.yml"
# act tags every action image it builds act-dockeraction:latest; tests/action/test_workflow.py
# takes the same lock, so the two never build over each other's image.
ACT_LOCK = Path("/tmp/xctoken-act.lock")
PREBUILT_TAG = f"xctoken-bench-prebuilt:{os.getpid()}"
ACT_IMAGE = "act-dockeraction:latest"
# variant -> the job of bench/act-workflow.yml it runs
ACT_VARIANTS = {
    "baseline (run: true)": "baseline",
    "composite action, no-op": "composite-noop",
    "node action (jose)": "node",
    "container action, prebuilt image": "container-prebuilt",
    "container action, Dockerfile warm": "container-dockerfile",
    "container action, Dockerfile cold": "container-dockerfile",
    "portable action": "portable",
    "portable action twice": "portable-twice",
}
_STEP_DONE = re.compile(r"✅  Success - Main (.+?) \[(\d+(?:\.\d+)?)(µs|ms|s)\]", re.S)
# Its own account of its setup: the direct install ("... unpacked in S s", from the venv's
# start), or pip's ("installing into it S s", after the venv). Either way: venv, then install.
_PORTABLE_SETUP = re.compile(r"dependencies ready: venv (\d+\.\d+) s \(without pip\), (?:\d+ locked wheels .*? "
                             r"unpacked in (\d+\.\d+) s|runner's pip [\d.]+ installing into it (\d+\.\d+) s)")


def runner_image() -> str:
    """The job image tests/action/test_workflow.py runs act with, as .ci/provision.sh names it."""
    match = re.search(r"^RUNNER_IMAGE=(\S+)", (ROOT / ".ci" / "provision.sh").read_text(), re.M)
    if not match:
        raise BenchError(".ci/provision.sh names no RUNNER_IMAGE")
    return match.group(1)


def bench_runner_image() -> str:
    """The runner image with node added (act runs node actions with the job container's node).

    GitHub's runners bring node for node actions; the stand-in runner image has none,
    so this machine's node binary is copied in. Every variant runs in this same image.
    """
    base = runner_image()
    if docker("image", "inspect", base).returncode != 0:
        raise BenchError(f"no runner image {base} (run `bash .ci/provision.sh` first)")
    node = shutil.which("node")
    if node is None:
        raise BenchError("no node on this machine: the node stand-in needs one")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    image = f"xctoken-bench/act-runner-node:{base.rsplit(':', 1)[-1]}-node{version.lstrip('v')}"
    if docker("image", "inspect", image).returncode == 0:
        return image
    with tempfile.TemporaryDirectory(prefix="xctoken-bench-node-") as context:
        shutil.copy2(os.path.realpath(node), Path(context) / "node")
        (Path(context) / "Dockerfile").write_text(f"FROM {base}\nCOPY node /usr/local/bin/node\n")
        result = docker("build", "-q", "-t", image, context)
    if result.returncode != 0:
        raise BenchError(f"building {image} failed: {result.stderr.strip()[-300:]}")
    return image


def act_repository(directory: Path, base_arg: str | None) -> Path:
    """The throwaway repository act runs: the actions' files, the node stand-in installed, the workflow."""
    for name in ("action.yml", "Dockerfile", "entrypoint.py", "requirements/runtime.txt"):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, directory / name)
    skip = shutil.ignore_patterns("__pycache__", "node_modules")
    for name in ("xctoken", "portable", "bench/node-action", "bench/act-noop"):
        shutil.copytree(ROOT / name, directory / name, ignore=skip)
    if base_arg:  # the Dockerfile's public base cannot be pulled here: the stand-in, as the tests do
        dockerfile = directory / "Dockerfile"
        text, count = re.subn(r"^ARG BASE_IMAGE=.*$", f"ARG BASE_IMAGE={base_arg}", dockerfile.read_text(),
                              flags=re.M)
        if count != 1:
            raise BenchError("the Dockerfile has no single ARG BASE_IMAGE line")
        dockerfile.write_text(text)
    npm = shutil.which("npm")
    if npm is None:
        raise BenchError("no npm on this machine: the node stand-in needs jose from npm")
    installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                               cwd=directory / "bench" / "node-action", capture_output=True, text=True, timeout=600)
    if installed.returncode != 0:
        raise BenchError(f"npm ci for the node stand-in failed: {installed.stderr.strip()[-300:]}")
    workflow = directory / ".github" / "workflows" / "bench.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(ACT_WORKFLOW.read_text().replace("__PREBUILT_IMAGE__", PREBUILT_TAG))
    (directory / ".bench").mkdir()
    git = ["git", "-c", "user.name=xctoken-bench", "-c", "user.email=bench@xctoken.invalid"]
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], [*git, "commit", "-qm", "bench"]):
        subprocess.run(argv, cwd=directory, check=True, capture_output=True)
    return directory


def _step_label(name: str) -> str:
    name = " ".join(name.split())
    if name.startswith("for candidate in python3 python"):
        return "portable's own step (bootstrap.py, entry point)"
    if name.startswith("printf '%s'"):
        return "the bench's step writing the token"
    return name[:50]


def step_seconds(log: str) -> list[tuple[str, float]]:
    """(step, seconds) for every step act reports as done, numbered in order (composite steps first)."""
    scale = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}
    return [(f"{number}. {_step_label(name)}", float(value) * scale[unit])
            for number, (name, value, unit) in enumerate(_STEP_DONE.findall(log), 1)]


def openssl_verifies(token: str, public_pem: bytes, directory: Path) -> bool:
    """The token's signature checked by the openssl CLI, sharing no code with the bench or xctoken."""
    header, claims, signature = token.split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    (directory / "public.pem").write_bytes(public_pem)
    (directory / "signature.der").write_bytes(der)
    result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(directory / "public.pem"), "-signature",
                             str(directory / "signature.der")], input=f"{header}.{claims}".encode(),
                            capture_output=True, timeout=60)
    return result.returncode == 0 and b"Verified OK" in result.stdout


@dataclass
class ActionFigures:
    runner: str
    base_note: str
    jobs: dict[str, Series]  # variant -> job wall time, s
    tokens: dict[str, str]  # variant -> its last token (verified)
    steps: dict[str, dict[str, list[float]]]  # variant -> step -> seconds, per round
    portable_venv: list[float] = field(default_factory=list)
    portable_install: list[float] = field(default_factory=list)  # the lock into the venv
    portable_direct: int = 0  # how many of those were the direct install (the rest: pip)
    wheels: dict[str, int] = field(default_factory=dict)  # what the portable action downloads
    act_version: str = "act"


class ActRunner:
    """Runs bench/act-workflow.yml's jobs under act in one throwaway repository."""

    def __init__(self, repository: Path, image: str, workspace: Workspace) -> None:
        self.repository = repository
        self.image = image
        self.workspace = workspace
        self.dockerfile = (repository / "Dockerfile").read_text()
        self.cold_images: list[str] = []
        self.env = {**os.environ, "ASC_PRIVATE_KEY": base64.b64encode(workspace.pem).decode()}

    def run(self, variant: str) -> tuple[float, str, str | None]:
        """(job wall time, act's log, the token the job left) for one run of a variant."""
        job = ACT_VARIANTS[variant]
        token_file = self.repository / ".bench" / f"{job}.token"
        token_file.unlink(missing_ok=True)
        # Every run starts as a first use on a fresh runner: no bytecode left by an earlier round.
        for cache in self.repository.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        cold = variant.endswith("Dockerfile cold")
        if cold:  # a new LABEL right after FROM: every later layer is built again, the wheels downloaded
            text = re.sub(r"^(FROM .*)$", rf'\1\nLABEL xctoken.bench.cold="{uuid.uuid4()}"', self.dockerfile,
                          count=1, flags=re.M)
            (self.repository / "Dockerfile").write_text(text)
        argv = [str(ACT), "push", "-W", ".github/workflows/bench.yml", "-P", f"ubuntu-latest={self.image}",
                "--pull=false", "--rm", "--bind", "-s", "ASC_PRIVATE_KEY", "-j", job]
        import fcntl  # act runs on POSIX only

        try:
            with open(ACT_LOCK, "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                started = time.perf_counter()
                result = subprocess.run(argv, cwd=self.repository, capture_output=True, text=True, env=self.env,
                                        timeout=1800)
                elapsed = time.perf_counter() - started
                if cold:
                    built = docker("image", "inspect", "--format", "{{.Id}}", ACT_IMAGE)
                    if built.returncode == 0:
                        self.cold_images.append(built.stdout.strip())
        finally:
            if cold:
                (self.repository / "Dockerfile").write_text(self.dockerfile)
        log = result.stdout + result.stderr
        if result.returncode != 0 or "🏁  Job succeeded" not in log:
            tail = " | ".join(line.strip() for line in log.strip().splitlines()[-6:])
            raise BenchError(f"act job {job} ({variant}) failed (exit {result.returncode}): {tail[-600:]}")
        token = token_file.read_text().strip() if token_file.is_file() else None
        return elapsed, log, token

    def cleanup(self) -> None:
        for image in dict.fromkeys(self.cold_images):
            docker("rmi", "--force", image)


def wheel_sizes() -> dict[str, int]:
    """The wheels the portable action downloads on this platform (pip download of the lock), in bytes."""
    with tempfile.TemporaryDirectory(prefix="xctoken-bench-wheels-") as target:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                                 "--require-hashes", "--no-deps", "--only-binary=:all:", "-d", target, "-r",
                                 str(ROOT / "requirements" / "runtime.txt")], capture_output=True, text=True,
                                timeout=600)
        if result.returncode != 0:
            return {}
        return {path.name: path.stat().st_size for path in sorted(Path(target).iterdir())}


def action_figures(workspace: Workspace, rounds: int, base_image: str | None = None,
                   variants: Sequence[str] = tuple(ACT_VARIANTS)) -> ActionFigures:
    """Every variant once per round, rounds interleaved; every token verified (cryptography and openssl)."""
    if not ACT.exists():
        raise BenchError(f"no act at {ACT.relative_to(ROOT)} (run `bash .ci/provision.sh` first)")
    if shutil.which("docker") is None or docker("info", timeout=60).returncode != 0:
        raise BenchError("no Docker engine answers (run `bash .ci/provision.sh` first)")
    if base_image:
        build_arg: str | None = base_image
    else:
        build_arg, _ = default_base_image()
    note = f"Dockerfile base BASE_IMAGE={build_arg} (stand-in)" if build_arg else "the Dockerfile's base"
    image = bench_runner_image()
    public_key = workspace.private_key.public_key()
    public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    jobs = {variant: Series(variant, "s") for variant in variants}
    steps: dict[str, dict[str, list[float]]] = {variant: {} for variant in variants}
    tokens: dict[str, str] = {}
    venv_times: list[float] = []
    install_times: list[float] = []
    direct = 0
    # ignore_cleanup_errors: the job containers write into the bound copy as root
    with tempfile.TemporaryDirectory(prefix="xctoken-bench-act-", ignore_cleanup_errors=True) as tmp:
        repository = act_repository(Path(tmp) / "repo", build_arg)
        built = docker("build", "-q", "-t", PREBUILT_TAG, str(repository))
        if built.returncode != 0:
            raise BenchError(f"building the prebuilt image failed: {built.stderr.strip()[-300:]}")
        runner = ActRunner(repository, image, workspace)
        try:
            for variant in variants:  # warm-up: the Dockerfile's layer cache, the page cache
                if not variant.endswith("cold"):
                    runner.run(variant)
            for _ in range(rounds):
                for variant in variants:
                    elapsed, log, token = runner.run(variant)
                    if variant.startswith(("baseline", "composite")):
                        if token is not None:
                            raise BenchError(f"the {variant} job left a token")
                    else:
                        if not token:
                            raise BenchError(f"{variant}: the job left no token")
                        verify_token(token, public_key)
                        if not openssl_verifies(token, public_pem, Path(tmp)):
                            raise BenchError(f"{variant}: openssl does not verify the token")
                        tokens[variant] = token
                    jobs[variant].values.append(elapsed)
                    for name, seconds in step_seconds(log):
                        steps[variant].setdefault(name, []).append(seconds)
                    if variant == "portable action":
                        setup = _PORTABLE_SETUP.search(log)
                        if setup:
                            venv = float(setup.group(1))
                            venv_times.append(venv)
                            if setup.group(2):  # counted from the venv's start, with the fetches beside it
                                direct += 1
                                install_times.append(float(setup.group(2)) - venv)
                            else:
                                install_times.append(float(setup.group(3)))
        finally:
            runner.cleanup()
            docker("rmi", "--force", PREBUILT_TAG)
    version = subprocess.run([str(ACT), "--version"], capture_output=True, text=True).stdout.strip() or "act"
    return ActionFigures(image, note, jobs, tokens, steps, venv_times, install_times, direct, act_version=version)


def paired_difference(ours: Series, theirs: Series, name: str) -> Series:
    return Series(name, ours.unit, [a - b for a, b in zip(ours.values, theirs.values, strict=True)])


def action_rows(figures: ActionFigures) -> tuple[list[Row], list[Series], list[str]]:
    jobs = figures.jobs
    node, baseline = jobs["node action (jose)"], jobs["baseline (run: true)"]
    rows = [
        ratio_row(ACTION_ROWS[0], jobs["portable action"], node, PORTABLE_BUDGET, False),
        ratio_row(ACTION_ROWS[1], jobs["container action, prebuilt image"], node, PREBUILT_BUDGET, False),
        ratio_row(ACTION_ROWS[2], jobs["container action, Dockerfile warm"], node, None, False),
        ratio_row(ACTION_ROWS[3], jobs["container action, Dockerfile cold"], node, None, False),
    ]
    second = paired_difference(jobs["portable action twice"], jobs["portable action"],
                               "portable: what its second use adds to a job")
    node_step = paired_difference(node, baseline, "node action: its job minus the baseline job")
    rows.append(ratio_row(ACTION_ROWS[4], second, node_step, None, False))
    rows.append(ratio_row(ACTION_ROWS[5], jobs["composite action, no-op"], node, None, False))
    numbers = list(jobs.values()) + [second, node_step]
    numbers += [paired_difference(series, baseline, f"{variant}: job minus baseline")
                for variant, series in jobs.items() if not variant.startswith(("baseline", "node "))]
    notes = [f"actions: {figures.act_version} in {figures.runner} ({figures.base_note}), {len(baseline.values)} "
             "interleaved round(s) after a warm-up round; ratios are medians of per-round ratios of job wall times"]
    for variant, named in figures.steps.items():
        parts = [f"{name} {statistics.median(values):.2f} s" for name, values in named.items()]
        notes.append(f"act's step times, {variant} (medians): " + "; ".join(parts))
    if figures.portable_install:
        venv_s, install_s = statistics.median(figures.portable_venv), statistics.median(figures.portable_install)
        how = (f"the direct install {figures.portable_direct} of {len(figures.portable_install)} times, "
               "the runner's pip the others" if figures.portable_direct else "the runner's pip every time")
        notes.append(f"portable action's setup (its own log, medians): venv {venv_s:.2f} s without pip, "
                     f"the lock installed in {install_s:.2f} s more ({how})")
    if figures.wheels:
        shown = ", ".join(f"{name.split('-')[0]} {size / 1e6:.2f} MB" for name, size in figures.wheels.items())
        notes.append(f"wheels the portable action downloads here: {sum(figures.wheels.values()) / 1e6:.1f} MB "
                     f"({shown})")
    return rows, numbers, notes


# --- the report -----------------------------------------------------------------------------


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    try:
        os_name = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                       if line.startswith("PRETTY_NAME="))
    except (OSError, StopIteration):
        os_name = platform.platform()
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"cpu: {cpu}, {os.cpu_count()} cores; load average {load}",
        f"os: {os_name} (kernel {platform.release()})",
        f"python: {platform.python_version()} ({sys.executable})",
        f"openssl: {openssl}",
    ]


def ratio_row(figure: str, ours: Series, theirs: Series, budget: float | None, higher_is_better: bool,
              paired: bool = True) -> Row:
    """One table row. ``paired``: the two series were timed back to back round by round, so
    the ratio is the median of the per-round ratios (a load spike then hits both sides of
    a ratio, not one median); otherwise the ratio of the medians."""
    if paired and len(ours.values) == len(theirs.values):
        ratio = statistics.median(a / b for a, b in zip(ours.values, theirs.values, strict=True))
    else:
        ratio = ours.median / theirs.median
    # Two decimals, or three where two would round a miss onto the budget ("0.60x OVER").
    digits = 3 if budget is not None and abs(ratio - budget) < 0.01 else 2
    row = Row(figure, fmt(ours.median, ours.unit), fmt(theirs.median, theirs.unit), f"{ratio:.{digits}f}x")
    if budget is not None:
        row.budget = f">= {budget:.2f}x" if higher_is_better else f"<= {budget:.2f}x"
        ok = ratio >= budget if higher_is_better else ratio <= budget
        row.status = "PASS" if ok else "OVER"
    return row


def print_table(rows: list[Row]) -> None:
    head = Row("figure", "xctoken", "alternative", "ratio", "budget", "status")
    widths = [max(len(getattr(r, f)) for r in [head, *rows]) for f in ("figure", "ours", "theirs", "ratio", "budget")]
    for row in [head, *rows]:
        cells = [row.figure, row.ours, row.theirs, row.ratio, row.budget]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + row.status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one run of each figure: checks the bench works")
    parser.add_argument("--runs", type=int, help="runs per figure (default 7, quick 1)")
    parser.add_argument("--tokens", type=int, help="tokens per in-process round (default 1000, quick 100); "
                                                   "the full run does 5 rounds per run")
    parser.add_argument("--container", action="store_true", help="include the container part in --quick")
    parser.add_argument("--no-container", action="store_true", help="skip the container part")
    parser.add_argument("--actions", action="store_true", help="include the actions under act in --quick")
    parser.add_argument("--no-actions", action="store_true", help="skip the actions under act")
    parser.add_argument("--action-rounds", type=int, help="interleaved rounds of the action jobs (default 9, "
                                                          "quick 1; each round runs every variant once)")
    parser.add_argument("--base-image", help=f"BASE_IMAGE build arg (default: {STANDIN_BASE} when the "
                                             "Dockerfile's base cannot be found locally)")
    parser.add_argument("--json", metavar="FILE", help="also write every measured value to FILE")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 7)
    tokens = args.tokens or (100 if args.quick else 1000)
    rounds = runs if args.quick else 5 * runs  # short rounds: less chance a load spike fills one
    action_rounds = args.action_rounds or (1 if args.quick else 9)
    with_container = not args.no_container and (args.container or not args.quick)
    with_actions = not args.no_actions and (args.actions or not args.quick)

    print(f"xctoken bench ({'quick: figures not meaningful, checks that it works' if args.quick else 'full'}; "
          f"{runs} run(s) per figure, medians)")
    for line in machine():
        print("  " + line)
    print()

    compile_package_bytecode()
    rows: list[Row] = []
    numbers: list[Series] = []
    failures: list[str] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="xctoken-bench-") as tmp:
        workspace = Workspace.create(Path(tmp))
        public_key = workspace.private_key.public_key()

        # 1. CLI cold start, in a venv made like a user's install
        try:
            python = user_venv(Path(tmp) / "venv")
            commands = cli_commands(workspace, python)
            for name, command in commands.items():
                if name != "python -c pass":
                    verify_token(run_for_token(command), public_key)
            cli = time_processes(commands, runs, warmup=2 if args.quick else 3)
            numbers.extend(cli.values())
            ours = cli["xctoken generate"]
            rows.append(ratio_row(CLI_ROWS[0], ours, cli["cryptography-only script"], CLI_BUDGET, False))
            rows.append(ratio_row(CLI_ROWS[1], ours, cli["minimal PyJWT script"], PYJWT_BUDGET, False))
            rows.append(ratio_row(CLI_ROWS[2], ours, cli["openssl pipeline"], None, False))
            notes.append("CLI run as pip's console script `xctoken generate ...` in a venv without the dev "
                         "venv's editable-install finder (xctoken and its dependencies on plain paths), "
                         "xctoken's bytecode compiled ahead, as pip install does")
        except BenchError as error:
            failures.append(f"CLI cold start: {error}")
            rows += [Row(name, status="FAILED") for name in CLI_ROWS[:3]]
        try:
            hits, checked, origin = github_modules_on_cli_path(workspace)
            tops = sorted({name.split(".")[0] if not name.startswith("xctoken.") else name for name in hits})
            rows.append(Row(CLI_ROWS[3], ", ".join(tops) or "none", "", "", "none", "FAIL" if hits else "PASS"))
            notes.append(f"GitHub-only modules checked ({origin}): {', '.join(checked)}")
        except BenchError as error:
            failures.append(f"import check: {error}")
            rows.append(Row(CLI_ROWS[3], status="FAILED"))

        # 2. In-process
        try:
            candidates = library_candidates(workspace)
            check_library_outputs(candidates, workspace)
            lib = time_library(candidates, tokens, rounds)
            numbers.extend(lib.values())
            raw = lib["raw ECDSA sign (cryptography)"]
            rows.append(ratio_row(LIBRARY_ROWS[0], lib["Signer.sign"], raw, LIBRARY_BUDGET, True))
            parses = key_parses_during(candidates["Signer.sign"], tokens)
            rows.append(Row(LIBRARY_ROWS[1], f"{parses} in {tokens} tokens", "", "", "0",
                            "PASS" if parses == 0 else "OVER"))
            notes.append(f"in-process: {rounds} rounds of {tokens} tokens per candidate, candidates interleaved; "
                         "ratios are medians of per-round ratios")
            rows.append(ratio_row(LIBRARY_ROWS[2], lib["mint_token"], raw, None, True))
            rows.append(ratio_row(LIBRARY_ROWS[3], lib["PyJWT encode, loaded key"], raw, None, True))
            rows.append(ratio_row(LIBRARY_ROWS[4], lib["PyJWT encode, PEM per token"], raw, None, True))
        except BenchError as error:
            failures.append(f"in-process: {error}")
            rows += [Row(name, status="FAILED") for name in LIBRARY_ROWS]

        # 3. Container
        if with_container:
            try:
                box = container_figures(workspace, runs, args.base_image)
                numbers += [box.build, box.run, box.cli]
                rows.append(Row(CONTAINER_ROWS[0], f"{box.added_mb:.1f} MB",
                                f"base {image_bytes(box.base) / 1e6:.0f} MB", "", f"<= {IMAGE_BUDGET_MB:.0f} MB",
                                "PASS" if box.added_mb <= IMAGE_BUDGET_MB else "OVER"))
                rows.append(Row(CONTAINER_ROWS[1], f"{box.added_compressed_mb:.1f} MB",
                                f"base {box.base_compressed_mb:.1f} MB", "", f"<= {IMAGE_COMPRESSED_BUDGET_MB:.0f} MB",
                                "PASS" if box.added_compressed_mb <= IMAGE_COMPRESSED_BUDGET_MB else "OVER"))
                rows.append(ratio_row(CONTAINER_ROWS[2], box.run, box.cli, None, False))
                rows.append(ratio_row(CONTAINER_ROWS[3], box.build, Series("", "s", [v / 1000 for v in box.run.values]),
                                      None, False, paired=False))
                notes.append(f"container: {box.base_note}; image size over base: {box.added_mb:.1f} MB from "
                             f"docker history, {box.added_mb_inspect:.1f} MB from docker image inspect; "
                             f"compressed (gzip -6 per layer of docker save, what a pull downloads): "
                             f"{box.added_compressed_mb:.2f} MB over a {box.base_compressed_mb:.1f} MB base")
            except BenchError as error:
                # Asked for (--container), or a full run on a machine that has Docker: a failure.
                if args.container or (not args.quick and not _no_docker(error)):
                    failures.append(f"container: {error}")
                    rows += [Row(name, status="FAILED") for name in CONTAINER_ROWS]
                else:
                    rows += [Row(name, status=f"skipped: {error}") for name in CONTAINER_ROWS]
        else:
            rows += [Row(name, status="skipped (--container to run)") for name in CONTAINER_ROWS]

        # 4. Actions under act
        if with_actions:
            try:
                figures = action_figures(workspace, action_rounds, args.base_image)
                figures.wheels = wheel_sizes()
                action_table, action_numbers, action_notes = action_rows(figures)
                rows += action_table
                numbers += action_numbers
                notes += action_notes
            except BenchError as error:
                if args.actions or (not args.quick and not _no_docker(error)):
                    failures.append(f"actions: {error}")
                    rows += [Row(name, status="FAILED") for name in ACTION_ROWS]
                else:
                    rows += [Row(name, status=f"skipped: {error}") for name in ACTION_ROWS]
        else:
            rows += [Row(name, status="skipped (--actions to run)") for name in ACTION_ROWS]

    print_table(rows)
    print()
    print("numbers behind them:")
    for series in numbers:
        print("  " + series.describe())
    for note in notes:
        print("note: " + note)
    print("note: the machine may be shared with other jobs; compare ratios from one run, not across runs")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "machine": machine(), "runs": runs, "tokens": tokens, "rounds": rounds, "action_rounds": action_rounds,
            "rows": [vars(r) for r in rows],
            "series": [{"name": s.name, "unit": s.unit, "median": s.median, "values": s.values} for s in numbers],
            "notes": notes,
        }, indent=2) + "\n")
    for failure in failures:
        print(f"bench: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _no_docker(error: BenchError) -> bool:
    return any(reason in str(error) for reason in ("no Docker engine", "no Dockerfile", "no act at", "no runner image",
                                                   "no node on", "no npm on"))


if __name__ == "__main__":
    sys.exit(main())
