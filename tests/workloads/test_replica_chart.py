"""The replica chart draws what reads saw: a count holds until the next read, never a slope between
two reads minutes apart (a quiet workload is not read), and the autoscaler only where there is one."""

from types import SimpleNamespace

from django.template.loader import render_to_string

from apps.workloads.templatetags.workloads import replica_chart


def points(line: str) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in line.split()]


def test_a_scale_between_two_reads_is_a_step_at_the_read_that_saw_it():
    history = [["2026-12-07T07:47:00+00:00", 2, 2, None], ["2026-12-07T07:52:00+00:00", 5, 5, None]]
    chart = replica_chart(SimpleNamespace(replica_history=history))
    (x0, y2), (x1, y_held), (x2, y5) = points(chart["desired"])
    assert y_held == y2 and x1 == x2 > x0 and y5 < y2, "held at 2 until 07:52, then 5"
    html = render_to_string("workloads/_replica_chart.html", chart)
    assert "the autoscaler decided" not in html
    assert '<text x="24" y="134" font-size="10" fill="currentColor" data-tick="first">07:47</text>' in html
    assert 'data-tick="last">07:52 UTC</text>' in html


def test_the_autoscalers_decisions_are_marked_where_it_decides():
    history = [
        ["2026-12-07T07:47:00+00:00", 2, 2, 2],
        ["2026-12-07T07:48:00+00:00", 4, 2, 4],
        ["2026-12-07T07:49:00+00:00", 4, 4, 4],
    ]
    chart = replica_chart(SimpleNamespace(replica_history=history))
    assert [d["to"] for d in chart["decisions"]] == [4] and len(points(chart["ready"])) == 5
    assert "the autoscaler decided" in render_to_string("workloads/_replica_chart.html", chart)
