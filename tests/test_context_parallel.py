"""``ctx.parallel`` on the process's shared threads: order, bounded concurrency, failures, nesting."""

import threading
import time

import pytest

from hub.context import VendorContext
from hub.http import VendorHttp


@pytest.fixture
def ctx():
    context = VendorContext(vendor="example", http=VendorHttp("example"))
    yield context
    context.close()


def test_results_come_back_in_the_order_of_the_calls(ctx):
    assert ctx.parallel([lambda i=i: i * i for i in range(10)]) == [i * i for i in range(10)]


def test_no_more_calls_run_at_once_than_max_workers(ctx):
    running, peak, lock = [0], [0], threading.Lock()

    def call():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    ctx.parallel([call] * 12, max_workers=3)
    assert 1 < peak[0] <= 3


def test_the_first_failure_in_call_order_is_raised_and_no_further_call_starts(ctx):
    started = []

    def ok(i):
        started.append(i)
        time.sleep(0.01)
        return i

    def fail(message):
        raise ValueError(message)

    with pytest.raises(ValueError, match="first"):
        ctx.parallel([lambda: fail("first"), *[lambda i=i: ok(i) for i in range(20)]], max_workers=2)
    assert len(started) < 20  # the remaining calls were not started after the failure


def test_a_parallel_call_inside_a_parallel_call_runs_its_calls_in_place(ctx):
    assert ctx.parallel([lambda: ctx.parallel([lambda: 1, lambda: 2]), lambda: [3]]) == [[1, 2], [3]]
