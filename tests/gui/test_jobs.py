"""The job runner: results, errors, cancel, a new request cancelling the old one."""

from __future__ import annotations

import logging
import threading

import pytest

from histeq_gui.core.errors import Cancelled, StackError
from histeq_gui.gui.jobs import Runner, live_jobs, user_message


@pytest.fixture
def runner(qapp):
    r = Runner("test")
    yield r
    r.shutdown()


class Outcome:
    def __init__(self):
        self.done, self.errors, self.cancelled = [], [], 0

    def kwargs(self):
        return dict(on_done=self.done.append,
                    on_error=lambda message, error: self.errors.append(message),
                    on_cancel=self.on_cancel)

    def on_cancel(self):
        self.cancelled += 1


def test_result_comes_back_in_the_gui_thread(qtbot, runner):
    outcome = Outcome()
    gui_thread = threading.get_ident()
    threads = []

    def job(report):
        threads.append(threading.get_ident())
        report("work", 1, 1)
        return 42

    def done(value):
        threads.append(threading.get_ident())
        outcome.done.append(value)

    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(job, on_done=done)
    assert outcome.done == [42]
    assert threads[0] != gui_thread and threads[1] == gui_thread


def test_progress_is_forwarded(qtbot, runner):
    seen = []
    runner.progressed.connect(lambda *args: seen.append(args))
    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(lambda report: report("stage", 3, 3))
    assert ("stage", 3, 3) in seen


def test_stack_error_is_one_line(qtbot, runner):
    outcome = Outcome()

    def job(report):
        raise StackError("cannot read 'x.npy': truncated; copy it again")

    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(job, **outcome.kwargs())
    assert outcome.errors == ["cannot read 'x.npy': truncated; copy it again"]


def test_unexpected_error_is_logged(qtbot, runner, caplog):
    outcome = Outcome()

    def job(report):
        raise ZeroDivisionError("boom\nsecond line")

    with caplog.at_level(logging.ERROR), \
            qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(job, **outcome.kwargs())
    assert outcome.errors == ["Unexpected error (ZeroDivisionError: boom); details are in the "
                              "log."]
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text


def test_cancel_stops_at_the_next_report(qtbot, runner):
    outcome = Outcome()
    started = threading.Event()

    def job(report):
        started.set()
        while True:
            report("spin", 0, 1)

    runner.start(job, **outcome.kwargs())
    started.wait(5)
    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.cancel()
    assert outcome.cancelled == 1 and not outcome.done and not outcome.errors


def test_cancel_closes_a_generator(qtbot, runner):
    outcome = Outcome()
    cleaned = threading.Event()
    started = threading.Event()

    def steps():
        try:
            while True:
                started.set()
                yield ("write", 0, 1)
        finally:
            cleaned.set()

    runner.start(lambda report: steps(), **outcome.kwargs())
    started.wait(5)
    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.cancel()
    assert cleaned.is_set() and outcome.cancelled == 1


def test_a_generator_cancelled_during_a_step_is_closed_in_its_thread(qtbot, runner):
    outcome = Outcome()
    in_step, finish_step = threading.Event(), threading.Event()
    ran_in, closed_in = [], []
    kept = []           # held elsewhere too: garbage collection will not close it

    def steps():
        try:
            ran_in.append(threading.get_ident())
            in_step.set()
            finish_step.wait(5)
            yield ("write", 1, 2)
            yield ("write", 2, 2)
        finally:
            closed_in.append(threading.get_ident())

    def job(report):
        kept.append(steps())
        return kept[-1]

    runner.start(job, **outcome.kwargs())
    assert in_step.wait(5)
    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.cancel()             # while next() runs: report() raises after the step
        finish_step.set()
    assert outcome.cancelled == 1 and not outcome.done and not outcome.errors
    assert closed_in == ran_in      # cleaned up, in the job's thread, before the job ended
    assert ran_in[0] != threading.get_ident()


def test_generator_return_value_is_the_result(qtbot, runner):
    outcome = Outcome()

    def steps():
        yield ("a", 1, 2)
        yield ("a", 2, 2)
        return "finished"

    with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(lambda report: steps(), **outcome.kwargs())
    assert outcome.done == ["finished"]


def test_a_new_request_cancels_the_old_one(qtbot, runner):
    first, second = Outcome(), Outcome()
    release = threading.Event()
    old_cancelled = threading.Event()

    def slow(report):
        try:
            while not release.is_set():
                report("slow", 0, 1)
                release.wait(0.01)
        except Cancelled:
            old_cancelled.set()
            raise
        return "old"

    old = runner.start(slow, **first.kwargs())
    with qtbot.waitSignal(old.finished, timeout=5000):     # its end, in the GUI thread
        with qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
            runner.start(lambda report: "new", **second.kwargs())
        assert second.done == ["new"]
    assert old_cancelled.is_set()
    assert first.done == [] and first.cancelled == 0 and first.errors == []


def test_shutdown_waits_for_every_thread(qapp):
    runner = Runner("shutdown")
    started = threading.Event()

    def job(report):
        started.set()
        while True:
            report("loop", 0, 1)

    runner.start(job)
    started.wait(5)
    runner.shutdown()
    assert not live_jobs()


@pytest.mark.parametrize("error, level", [(ValueError("bins must be at least 1"), "WARNING"),
                                          (RuntimeError("bug"), "ERROR")])
def test_errors_other_than_stack_errors_are_logged_with_a_traceback(qtbot, runner, caplog,
                                                                   error, level):
    outcome = Outcome()

    def job(report):
        raise error

    with caplog.at_level(logging.WARNING), \
            qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(job, **outcome.kwargs())
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.levelname == level and record.exc_info[1] is error
    assert outcome.errors == [user_message(error)]


def test_stack_errors_are_not_logged(qtbot, runner, caplog):
    def job(report):
        raise StackError("cannot read 'x.npy': truncated; copy it again")

    with caplog.at_level(logging.DEBUG), \
            qtbot.waitSignal(runner.busyChanged, check_params_cb=lambda busy: not busy):
        runner.start(job)
    assert not caplog.records


def test_user_message_keeps_the_first_line():
    assert user_message(ValueError("bins must be at least 1\nmore")) == "bins must be at least 1"
    assert user_message(StackError("x")) == "x"
    assert user_message(KeyError("k")).startswith("Unexpected error (KeyError")


def test_shutdown_with_a_timeout_leaves_a_stuck_job_and_delivers_nothing(qtbot, qapp):
    runner = Runner("stuck")
    outcome = Outcome()
    started, release = threading.Event(), threading.Event()

    def stuck(report):              # e.g. numba compiling: it cannot see the cancel
        started.set()
        release.wait(10)
        return "late"

    job = runner.start(stuck, **outcome.kwargs())
    assert started.wait(5)
    assert runner.shutdown(timeout_ms=50) is False
    assert job.isRunning() and not runner.busy
    with qtbot.waitSignal(job.finished, timeout=10000):    # its end, in the GUI thread
        release.set()
    assert outcome.done == [] and outcome.errors == [] and outcome.cancelled == 0
    del runner
    qtbot.wait(20)


def test_shutdown_without_a_timeout_waits(qapp):
    runner = Runner("slow")
    release = threading.Event()
    job = runner.start(lambda report: release.wait(0.2))
    assert runner.shutdown() is True and not job.isRunning()
