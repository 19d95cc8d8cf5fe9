#!/usr/bin/env python3
"""Set up and run ironfield from a fresh clone with nothing but python3.

    python3 dev.py demo    # create .venv, install, run both demo sites on the embedded default
    python3 dev.py test    # create .venv, install, run ruff, mypy, import-linter and pytest

Any further arguments go to `ironfield demo` or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*cmd: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    rc = subprocess.call([str(c) for c in cmd], cwd=ROOT)
    if check and rc != 0:
        sys.exit(rc)
    return rc


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"ironfield needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    stamp = VENV / ".ironfield-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != want:
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
        stamp.write_text(want)


def ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium; install it when we can (root on Debian)."""
    if Path("/usr/bin/chromium").exists():
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        run("apt-get", "update", "-qq", check=False)
        run("apt-get", "install", "-y", "-qq", "chromium", check=False)
    if not Path("/usr/bin/chromium").exists():
        print("note: /usr/bin/chromium is missing; browser tests will skip (or fail under CI=true). "
              "Install it with: sudo apt-get install -y chromium", flush=True)


def test(args: list[str]) -> None:
    ensure_venv()
    ensure_chromium()
    run(BIN / "ruff", "check", "src", "tests", "bench")
    run(BIN / "mypy")
    run(BIN / "lint-imports")
    run(PY, "-m", "pytest", *args)


def demo(args: list[str]) -> None:
    ensure_venv()
    os.execv(str(BIN / "ironfield"), [str(BIN / "ironfield"), "demo", *args])


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    {"demo": demo, "test": test}[cmd](args)


if __name__ == "__main__":
    main()
