"""Limits: validation, scaling of the time limits, and the timeout scale (env var or calibration)."""

import pytest

from pytest_agorabench.sandbox import limits as limits_module
from pytest_agorabench.sandbox.limits import SCALE_ENV, Limits, measure_scale, timeout_scale


def test_scaled_multiplies_only_the_time_limits():
    base = Limits(wall_seconds=2, cpu_seconds=3, memory_bytes=1 << 20)
    doubled = base.scaled(2.5)
    assert (doubled.wall_seconds, doubled.cpu_seconds) == (5.0, 7.5)
    assert doubled.memory_bytes == base.memory_bytes and doubled.output_bytes == base.output_bytes


@pytest.mark.parametrize("field", ["wall_seconds", "cpu_seconds", "memory_bytes", "output_bytes", "max_processes"])
def test_non_positive_limits_are_refused(field):
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


def test_child_config_rounds_cpu_up_to_whole_seconds():
    config = Limits(cpu_seconds=1.2).child_config()
    assert config["cpu_seconds"] == 2 and "wall_seconds" not in config and "output_bytes" not in config


def test_env_var_sets_the_scale(monkeypatch):
    monkeypatch.setenv(SCALE_ENV, "3")
    assert timeout_scale() == 3.0
    assert Limits(wall_seconds=2).scaled().wall_seconds == 6.0


@pytest.mark.parametrize("raw", ["fast", "0", "-1"])
def test_bad_env_var_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv(SCALE_ENV, raw)
    with pytest.raises(ValueError, match=SCALE_ENV):
        timeout_scale()


def test_calibration_runs_once_per_process_and_never_shrinks_limits(monkeypatch):
    monkeypatch.delenv(SCALE_ENV, raising=False)
    monkeypatch.setattr(limits_module, "_scale", None)
    calls = []
    monkeypatch.setattr(limits_module, "measure_scale", lambda: calls.append(1) or 4.0)
    assert timeout_scale() == 4.0 and timeout_scale() == 4.0
    assert calls == [1]
    assert measure_scale() >= 1.0


def test_a_slow_machine_gets_a_proportionally_larger_scale(monkeypatch):
    # Pretend the calibration loop took 5x the reference time: limits grow 5x.
    monkeypatch.setattr(limits_module, "_calibration_loop", lambda: limits_module._REFERENCE_SECONDS * 5)
    assert measure_scale() == pytest.approx(5.0)
    monkeypatch.setattr(limits_module, "_calibration_loop", lambda: limits_module._REFERENCE_SECONDS * 1000)
    assert measure_scale() == limits_module._MAX_SCALE
