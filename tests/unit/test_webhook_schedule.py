"""The deliverer's retry schedule (issue 29; docs/webhooks.md, "Retries"): exponential, jittered, capped,
the first retry within 10 s by default, every figure configurable."""

from adapters.services.deliverer import Schedule


def test_the_first_retry_comes_within_ten_seconds_by_default_and_each_wait_doubles_up_to_the_cap():
    s = Schedule()
    assert all(s.delay(1, lambda r=r: r) <= 10 for r in (0.0, 0.5, 0.999999))
    highest = [s.delay(n, lambda: 0.999999) for n in range(1, 16)]
    assert highest == sorted(highest) and max(highest) <= s.cap
    assert [round(s.delay(n, lambda: 0.0), 6) for n in range(1, 5)] == [2.5, 5.0, 10.0, 20.0]


def test_jitter_spreads_a_wait_over_its_upper_half():
    s = Schedule(base=8, cap=100)
    assert s.delay(2, lambda: 0.0) == 8 and s.delay(2, lambda: 1.0) == 16
    assert Schedule(base=1, cap=3).delay(10, lambda: 1.0) == 3
