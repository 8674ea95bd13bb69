"""The README's promises: a fresh clone runs `make run`, and a plain (non-editable)
`pip install .` carries the corpus and the ontology with the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git"
)
def test_make_run_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "claimkg"
    cloned = _run(["git", "clone", "--quiet", str(REPO), str(clone)], cwd=tmp_path)
    assert cloned.returncode == 0, cloned.stderr
    done = _run(["make", "run"], cwd=clone, PYTHON=sys.executable)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validation: conforms" in done.stdout
    for name in ("claimkg.ttl", "claimkg.nt", "claimkg.jsonld", "claimkg.trig"):
        assert (clone / "build" / name).stat().st_size > 0, name


def test_a_plain_wheel_install_carries_its_data(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(wheels),
            str(REPO),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("claimkg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "kg/_data/ontology/shapes.ttl" in names
    assert "kg/_data/corpus/lerociclib-leonarda1-interview/article.txt" in names
    assert "kg/screen/shipped.json" in names  # the compiled screen (decision 0026)

    site = tmp_path / "site"
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ],
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    out = tmp_path / "out"
    script = (
        "import kg, sys; from kg.cli import main; print(kg.__file__); "
        f"sys.exit(main(['build', '--quiet', '--out', {str(out)!r}]))"
    )
    ran = _run([sys.executable, "-c", script], cwd=tmp_path, PYTHONPATH=str(site))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().startswith(str(site))  # the wheel's copy ran, not the source tree
    assert (out / "claimkg.ttl").exists()
