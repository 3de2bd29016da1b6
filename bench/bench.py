#!/usr/bin/env python3
"""xctoken's benchmark: what a token costs, next to what users would run instead.

    source scripts/venv.sh
    python bench/bench.py                    full run: 7 runs per figure, container included
    python bench/bench.py --quick            one run each, no container: checks the bench works
    python bench/bench.py --quick --container   ...and the container part, once

It prints a table of ratios measured in this one run, each budget marked PASS or
OVER (a report, never a test assertion), then the numbers behind them (median,
min, max, runs) and the machine they were measured on.

1. CLI cold start: ``xctoken generate`` as a whole process, against a minimal PyJWT
   script (bench/minimal_pyjwt.py) and a shell pipeline around the openssl CLI
   (bench/openssl_token.sh, the process floor). All three run on the same
   interpreter, read the same key file and make the same header and claims; runs
   are interleaved so machine noise hits them alike, after warm-up runs that fill
   the page cache. Also checked: no GitHub-only module is imported on that path.
2. In-process: tokens per second from ``Signer.sign`` with a key loaded once,
   against raw ECDSA P-256 signing of the same input with cryptography.
3. Container: ``docker run`` to token with the built image, the size the image
   adds to its base, and the cold ``docker build --no-cache`` time.

Every token an alternative produced is verified here with cryptography alone
(raw R || S converted to DER), independently of xctoken and PyJWT; a figure
whose token does not verify is a failure (exit 1), not a number.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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

CLI_BUDGET = 1.15  # xctoken generate <= 1.15 x the minimal PyJWT script
LIBRARY_BUDGET = 0.60  # Signer.sign >= 60% of raw ECDSA signing
IMAGE_BUDGET_MB = 30.0  # MB as docker counts them (10**6 bytes)

# Top-level modules actions-toolkit brings in, used when it is not installed.
FALLBACK_GITHUB_ONLY = ("actions_toolkit", "github", "requests", "urllib3", "nacl", "certifi", "idna",
                        "charset_normalizer")

ROWS = (
    "CLI cold start vs minimal PyJWT",
    "CLI cold start vs openssl pipeline",
    "GitHub-only modules on the CLI path",
    "library tokens/s vs raw ECDSA",
    "key parses while signing",
    "mint_token tokens/s vs raw ECDSA",
    "PyJWT (loaded key) tokens/s vs raw ECDSA",
    "PyJWT (PEM per token) tokens/s vs raw ECDSA",
    "image size over base",
    "docker run to token vs CLI",
    "cold docker build vs docker run",
)


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


def cli_commands(workspace: Workspace) -> dict[str, list[str]]:
    key = str(workspace.key_path)
    return {
        "xctoken generate": [*xctoken_command(), "generate", "--key", key, "--key-id", KEY_ID,
                             "--issuer-id", ISSUER_ID],
        "minimal PyJWT script": [sys.executable, str(BENCH / "minimal_pyjwt.py"), key, KEY_ID, ISSUER_ID],
        "openssl pipeline": ["sh", str(BENCH / "openssl_token.sh"), key, KEY_ID, ISSUER_ID],
        "python -c pass": [sys.executable, "-c", "pass"],
    }


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


@dataclass
class ContainerFigures:
    base: str
    base_note: str
    build: Series
    run: Series
    cli: Series
    added_mb: float
    added_mb_inspect: float


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
        return ContainerFigures(base, note, build, run, cli, added, added_inspect)
    finally:
        for image_id in dict.fromkeys(reversed(built)):
            docker("rmi", "--force", image_id)


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
    parser.add_argument("--base-image", help=f"BASE_IMAGE build arg (default: {STANDIN_BASE} when the "
                                             "Dockerfile's base cannot be found locally)")
    parser.add_argument("--json", metavar="FILE", help="also write every measured value to FILE")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 7)
    tokens = args.tokens or (100 if args.quick else 1000)
    rounds = runs if args.quick else 5 * runs  # short rounds: less chance a load spike fills one
    with_container = not args.no_container and (args.container or not args.quick)

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

        # 1. CLI cold start
        commands = cli_commands(workspace)
        try:
            for name, command in commands.items():
                if name != "python -c pass":
                    verify_token(run_for_token(command), public_key)
            cli = time_processes(commands, runs, warmup=2 if args.quick else 3)
            numbers.extend(cli.values())
            rows.append(ratio_row(ROWS[0], cli["xctoken generate"], cli["minimal PyJWT script"], CLI_BUDGET, False))
            rows.append(ratio_row(ROWS[1], cli["xctoken generate"], cli["openssl pipeline"], None, False))
            shown = " ".join(Path(a).name for a in commands["xctoken generate"][:2])
            notes.append(f"CLI run as `{shown} ...`; xctoken's bytecode compiled ahead, as pip install does")
        except BenchError as error:
            failures.append(f"CLI cold start: {error}")
            rows += [Row(ROWS[0], status="FAILED"), Row(ROWS[1], status="FAILED")]
        try:
            hits, checked, origin = github_modules_on_cli_path(workspace)
            tops = sorted({name.split(".")[0] if not name.startswith("xctoken.") else name for name in hits})
            rows.append(Row(ROWS[2], ", ".join(tops) or "none", "", "", "none", "FAIL" if hits else "PASS"))
            notes.append(f"GitHub-only modules checked ({origin}): {', '.join(checked)}")
        except BenchError as error:
            failures.append(f"import check: {error}")
            rows.append(Row(ROWS[2], status="FAILED"))

        # 2. In-process
        try:
            candidates = library_candidates(workspace)
            check_library_outputs(candidates, workspace)
            lib = time_library(candidates, tokens, rounds)
            numbers.extend(lib.values())
            raw = lib["raw ECDSA sign (cryptography)"]
            rows.append(ratio_row(ROWS[3], lib["Signer.sign"], raw, LIBRARY_BUDGET, True))
            parses = key_parses_during(candidates["Signer.sign"], tokens)
            rows.append(Row(ROWS[4], f"{parses} in {tokens} tokens", "", "", "0", "PASS" if parses == 0 else "OVER"))
            notes.append(f"in-process: {rounds} rounds of {tokens} tokens per candidate, candidates interleaved; "
                         "ratios are medians of per-round ratios")
            rows.append(ratio_row(ROWS[5], lib["mint_token"], raw, None, True))
            rows.append(ratio_row(ROWS[6], lib["PyJWT encode, loaded key"], raw, None, True))
            rows.append(ratio_row(ROWS[7], lib["PyJWT encode, PEM per token"], raw, None, True))
        except BenchError as error:
            failures.append(f"in-process: {error}")
            rows += [Row(name, status="FAILED") for name in ROWS[3:8]]

        # 3. Container
        if with_container:
            try:
                box = container_figures(workspace, runs, args.base_image)
                numbers += [box.build, box.run, box.cli]
                rows.append(Row(ROWS[8], f"{box.added_mb:.1f} MB", f"base {image_bytes(box.base) / 1e6:.0f} MB",
                                "", f"<= {IMAGE_BUDGET_MB:.0f} MB",
                                "PASS" if box.added_mb <= IMAGE_BUDGET_MB else "OVER"))
                rows.append(ratio_row(ROWS[9], box.run, box.cli, None, False))
                rows.append(ratio_row(ROWS[10], box.build, Series("", "s", [v / 1000 for v in box.run.values]),
                                      None, False, paired=False))
                notes.append(f"container: {box.base_note}; image size over base: {box.added_mb:.1f} MB from "
                             f"docker history, {box.added_mb_inspect:.1f} MB from docker image inspect")
            except BenchError as error:
                # Asked for (--container), or a full run on a machine that has Docker: a failure.
                if args.container or (not args.quick and not _no_docker(error)):
                    failures.append(f"container: {error}")
                    rows += [Row(name, status="FAILED") for name in ROWS[8:]]
                else:
                    rows += [Row(name, status=f"skipped: {error}") for name in ROWS[8:]]
        else:
            rows += [Row(name, status="skipped (--container to run)") for name in ROWS[8:]]

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
            "machine": machine(), "runs": runs, "tokens": tokens, "rounds": rounds,
            "rows": [vars(r) for r in rows],
            "series": [{"name": s.name, "unit": s.unit, "median": s.median, "values": s.values} for s in numbers],
        }, indent=2) + "\n")
    for failure in failures:
        print(f"bench: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _no_docker(error: BenchError) -> bool:
    return "no Docker engine" in str(error) or "no Dockerfile" in str(error)


if __name__ == "__main__":
    sys.exit(main())
