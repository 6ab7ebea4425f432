import datetime as dt
import os
import time

from court.core import clock
from tests.factories import NOW


def test_a_pinned_clock_stands_still(monkeypatch):
    monkeypatch.setenv("COURT_FAKE_NOW", NOW.isoformat())
    assert clock.now() == NOW
    time.sleep(0.05)
    assert clock.now() == NOW


def test_a_clock_file_runs_on_from_the_time_written(monkeypatch, tmp_path):
    shared = clock.FileClock(tmp_path / "now")
    shared.set(NOW)
    monkeypatch.setenv("COURT_FAKE_NOW", shared.env)
    first = clock.now()
    time.sleep(0.2)
    second = clock.now()
    assert NOW <= first < second < NOW + dt.timedelta(seconds=5)
    later = NOW + dt.timedelta(days=1)
    shared.set(later)
    assert later <= clock.now() < later + dt.timedelta(seconds=5)


def test_a_clock_file_written_by_hand_stands_at_its_time(monkeypatch, tmp_path):
    path = tmp_path / "now"
    path.write_text(NOW.isoformat())
    monkeypatch.setenv("COURT_FAKE_NOW", f"@{path}")
    assert clock.now() == NOW
    later = NOW + dt.timedelta(days=1)
    path.write_text(later.isoformat() + "\n")
    assert clock.now() == later


def test_no_setting_means_the_real_clock(monkeypatch):
    monkeypatch.delenv("COURT_FAKE_NOW", raising=False)
    assert abs(clock.now() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=5)
    assert os.environ.get("COURT_FAKE_NOW") is None


def test_a_file_clock_set_by_a_process_runs_on_by_the_monotonic_clock(tmp_path, monkeypatch):
    # Independent of the wall clock: moving it (as faketime does) must not move the court's clock.
    shared = clock.FileClock(tmp_path / "now")
    shared.set(NOW)
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)  # the wall clock jumps to 2096
    assert NOW <= shared.now() < NOW + dt.timedelta(seconds=5)
    with clock.use(shared):
        assert NOW <= clock.now() < NOW + dt.timedelta(seconds=5)


def test_an_installed_clock_wins_over_the_environment(monkeypatch):
    later = NOW + dt.timedelta(days=400)
    with clock.use(clock.FixedClock(later)):
        assert clock.now() == later
    assert clock.now() == NOW  # the suite's pinned clock again
    running = clock.RunningClock(later)
    assert later <= running.now() < later + dt.timedelta(seconds=5)
