import io

from tfvideo import progress


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = progress.Progress(total=10, start=2, stream=stream)
    bar.update(4, {"loss": 1.5})
    line = stream.getvalue()
    assert line.startswith("step 4/10 (40%) loss=1.5 |") and "ETA" in line


def test_format_seconds():
    assert [progress.format_seconds(s) for s in (12.3, 564, 7300, float("nan"))] == ["12s", "9m24s", "2h01m", "?"]
