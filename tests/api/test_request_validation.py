"""Request validation never raises: any JSON body gives a job or a list of (path, message) errors."""

from __future__ import annotations

from typing import Any

from apihelpers import routes_problem
from hypothesis import given, settings
from hypothesis import strategies as st

from api.routes.jobs import check_job, count_items
from api.settings import Settings

SETTINGS = Settings(database_url="sqlite://", start_dispatcher=False, max_time_limit_s=100)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
keys = st.sampled_from(["kind", "problem", "options", "extra"])
bodies = st.dictionaries(keys, json_values | st.sampled_from(["routes", "staffing"]), max_size=4) | json_values


@settings(max_examples=150, deadline=None)
@given(bodies)
def test_check_job_total(body: Any) -> None:
    job, errors = check_job(body, SETTINGS)
    assert (job is None) == bool(errors)
    for e in errors:
        assert set(e) == {"path", "message"} and isinstance(e["path"], str) and e["message"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.floats(0.01, 500))
def test_valid_routes_accepted_unless_time_limit_too_high(n: int, tl: float) -> None:
    job, errors = check_job({"kind": "routes", "problem": routes_problem(max(n, 1)), "options": {"time_limit_s": tl}},
                            SETTINGS)
    if tl <= SETTINGS.max_time_limit_s:
        assert job is not None and job.options == {"time_limit_s": tl}
    else:
        assert job is None and [e["path"] for e in errors] == ["options.time_limit_s"]


def test_count_items_counts_objects_in_lists() -> None:
    assert count_items(routes_problem(7, reps=2)) == 9
    assert count_items({"a": [[{"b": [{}]}]]}) == 2
    assert count_items({"x": [1, 2, 3]}) == 0
