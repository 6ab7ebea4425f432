"""Train the Rasa model once per set of inputs; print the model's path.

The model is cached as models/<hash>.tar.gz where the hash covers config.yml,
domain.yml, everything under nlu_data/ and the pinned requirements. Tests,
`make run` and the benchmarks all call this, so a model is trained only when
its inputs change.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
KEEP = 3
INPUTS = [ROOT / "config.yml", ROOT / "domain.yml", ROOT / "requirements.txt"]


def real_clock_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` without libfaketime: TensorFlow hangs under it (make test-dates), so Rasa keeps the real clock."""
    return {k: v for k, v in env.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def inputs_hash() -> str:
    digest = hashlib.sha256()
    files = INPUTS + sorted(p for p in (ROOT / "nlu_data").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_model(quiet: bool = False) -> Path:
    name = f"model-{inputs_hash()}"
    model = MODELS / f"{name}.tar.gz"
    if model.exists():
        return model
    MODELS.mkdir(exist_ok=True)
    env = real_clock_env(dict(os.environ)) | {"RASA_TELEMETRY_ENABLED": "false"}
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml",
         "--data", "nlu_data", "--out", str(MODELS), "--fixed-model-name", name],
        cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    print(f"trained {model.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for stale in sorted(MODELS.glob("model-*.tar.gz"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
        stale.unlink()  # models are large; keep the newest few
    return model


if __name__ == "__main__":
    print(ensure_model(quiet="--quiet" in sys.argv))
