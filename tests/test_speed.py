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


def test_the_benchmark_builds_no_model_of_its_own():
    # Models live in helpers/models.py: the benchmark times the networks the
    # chapters build, and keeps no copy that could drift from them.
    import ast
    import inspect

    from helpers import speed

    tree = ast.parse(inspect.getsource(speed))
    builders = {"keras.Model", "keras.Sequential", "Model", "Sequential"}
    built = [
        ast.unparse(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in builders
    ]
    assert built == [], f"helpers/speed.py builds a model itself: {built}"
