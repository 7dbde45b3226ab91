import io

from tfvideo.utils import progress


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = progress.Progress(total=10, start=2, stream=stream)
    bar.update(4, {"loss": 1.5})
    line = stream.getvalue()
    assert line.startswith("step 4/10 (40%) loss=1.5 |") and "ETA" in line


def test_min_interval_throttles_log_lines_but_always_prints_the_last(monkeypatch):
    clock = iter([0.0, 0.0, 1.0, 4.0, 9.0, 11.0, 12.0])  # construction, then one reading per update
    monkeypatch.setattr(progress.time, "time", lambda: next(clock))
    stream = io.StringIO()
    bar = progress.Progress(total=6, stream=stream, unit="video", min_interval=5.0)
    for step in range(1, 7):
        bar.update(step)
    assert [line.split(" (")[0] for line in stream.getvalue().splitlines()] == \
        ["video 1/6", "video 4/6", "video 6/6"]


def test_format_seconds():
    assert [progress.format_seconds(s) for s in (12.3, 564, 7300, float("nan"))] == ["12s", "9m24s", "2h01m", "?"]
