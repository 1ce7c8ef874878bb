"""helpers.speed: timing several ways of the same work in turns."""

import time

from helpers.speed import time_in_turns


def test_time_in_turns_alternates_the_ways_and_counts_every_timed_call():
    calls = []

    def way(name, *seconds):
        durations = iter(seconds)

        def run():
            calls.append(name)
            time.sleep(next(durations))

        return run

    # the first call of each is untimed; "pausing" is fast once and slow once
    speeds = time_in_turns(
        {
            "steady": way("steady", 0, 0.03, 0.03),
            "pausing": way("pausing", 0, 0.01, 0.11),
        },
        images=100,
        repeats=2,
    )
    assert calls == ["steady", "pausing"] * 3
    assert list(speeds) == ["steady", "pausing"]
    assert 100 / 0.03 * 0.6 < speeds["steady"] <= 100 / 0.03
    # the mean of 0.01 s and 0.11 s, not the fastest call: the pause counts as
    # often as it happens
    assert 100 / 0.06 * 0.6 < speeds["pausing"] <= 100 / 0.06
    assert speeds["pausing"] < speeds["steady"]


def test_the_timed_dogs_vs_cats_convnet_is_chapter_5s():
    # The benchmark times helpers.models' convnet, the one chapter 5 builds;
    # speed.py's own copy stays only for chapter 6's committed run and must
    # build the same network.
    from helpers import speed
    from helpers.models import dogs_vs_cats_convnet

    for model in (dogs_vs_cats_convnet(), speed.dogs_vs_cats_convnet()):
        assert model.count_params() == 991_041
        kinds = [layer.__class__.__name__ for layer in model.layers]
        assert kinds.count("Conv2D") == 5 and kinds.count("MaxPooling2D") == 4
