"""The Train page's clock ticks between logs, stands still while paused and never goes back."""

from __future__ import annotations

import pytest

from ift_desktop.ui.pages.train.run_clock import RunClock


def test_clock_ticks_pauses_and_never_goes_back():
    now = [0.0]
    clock = RunClock(now=lambda: now[0])
    clock.start(30.0)  # a continued run starts at its earlier training time
    now[0] = 5.0
    assert clock.elapsed_s() == pytest.approx(35.0)
    clock.update(elapsed_s=33.0, eta_s=100.0)  # a log that lags the clock does not pull it back
    assert clock.elapsed_s() == pytest.approx(35.0)
    now[0] = 15.0
    assert clock.elapsed_s() == pytest.approx(45.0) and clock.eta_s() == pytest.approx(90.0)
    clock.pause()
    now[0] = 100.0
    assert clock.elapsed_s() == pytest.approx(45.0) and clock.eta_s() == pytest.approx(90.0)
    clock.resume()
    now[0] = 110.0
    assert clock.elapsed_s() == pytest.approx(55.0) and clock.eta_s() == pytest.approx(80.0)
    clock.update(elapsed_s=60.0, eta_s=None)
    assert clock.elapsed_s() == pytest.approx(60.0) and clock.eta_s() is None
    clock.stop()
    now[0] = 500.0
    assert clock.elapsed_s() == pytest.approx(60.0) and not clock.running
