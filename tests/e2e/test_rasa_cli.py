"""Rasa's own checks: the data validates and every test story passes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stack.train import real_clock_env

ROOT = Path(__file__).resolve().parents[2]
RASA = str(Path(sys.executable).parent / "rasa")
ENV = real_clock_env(dict(os.environ)) | {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_rasa_data_validate_is_clean():
    result = subprocess.run([RASA, "data", "validate", "--domain", "domain.yml", "--data", "nlu_data",
                             "--config", "config.yml", "--fail-on-warnings"],
                            cwd=ROOT, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_all_test_stories_pass(model, tmp_path):
    result = subprocess.run([RASA, "test", "core", "--model", str(model), "--stories", "tests/stories",
                             "--fail-on-prediction-errors", "--out", str(tmp_path)],
                            cwd=ROOT, env=ENV, capture_output=True, text=True)
    failed = (tmp_path / "failed_test_stories.yml")
    detail = failed.read_text(encoding="utf-8")[-4000:] if failed.exists() else result.stderr[-4000:]
    assert result.returncode == 0, detail
    stories = sum(p.read_text(encoding="utf-8").count("- story:") for p in (ROOT / "tests" / "stories").glob("*.yml"))
    assert stories >= 30
