"""helpers.speed: timing several ways of the same work in turns."""

import time

from helpers.speed import time_in_turns


def test_time_in_turns_alternates_the_ways_and_keeps_each_ones_fastest_call():
    calls = []

    def way(name, seconds):
        def run():
            calls.append(name)
            time.sleep(seconds)
        return run

    speeds = time_in_turns({"slow": way("slow", 0.04), "fast": way("fast", 0.01)}, images=100, repeats=2)
    # one untimed call each, then two rounds in turn
    assert calls == ["slow", "fast"] * 3
    assert list(speeds) == ["slow", "fast"]
    assert 100 / 0.04 * 0.5 < speeds["slow"] <= 100 / 0.04
    assert speeds["fast"] > 2 * speeds["slow"]


def test_the_timed_dogs_vs_cats_convnet_is_chapter_4s():
    # helpers.speed keeps its own copy of chapter 4's model (a helper cannot import a notebook);
    # BOOK_DESIGN.md gives chapter 4's network 991,041 parameters.
    from helpers.speed import dogs_vs_cats_convnet

    model = dogs_vs_cats_convnet()
    assert model.count_params() == 991_041
    assert [layer.__class__.__name__ for layer in model.layers].count("Conv2D") == 5
