"""Schemathesis' state machine over the job routes: it follows the links that POST /api/jobs
declares (status, events, result, delete) in random orders and checks every answer against the
document, and that a deleted job stays gone and a created one can be fetched. A deliberate bug
(DELETE that deletes nothing) fails it with ST301."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Server, pattern, png_bytes, start_server

PNG = png_bytes(pattern(3, size=24))


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[Server]:  # noqa: ANN001
    server = start_server(tmp_path_factory.mktemp("stateful"), models_dir, QUEUE_SIZE="200", MAX_SCALE="2")
    yield server
    server.stop()


def test_job_flows(jobs_server: Server) -> None:
    # Valid data only: test_fuzz.py sends the invalid kind to each route alone; here the point is
    # the jobs that get made and what follows them.
    config = SchemathesisConfig.from_dict({"generation": {"mode": "positive"}})
    schema = schemathesis.openapi.from_url(f"{jobs_server.url}/openapi.json", config=config)
    schema = schema.include(path_regex="^/api/jobs")

    class JobFlows(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            # A real image where the case has a file: random bytes never make a job to follow.
            if (
                case.method == "POST"
                and case.path == "/api/jobs"
                and isinstance(case.body, dict)
                and "file" in case.body
            ):
                case.body["file"] = PNG

        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            return {"timeout": 60}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:  # noqa: ANN001
            # Every check but positive_data_acceptance (see test_fuzz.py); the recorder lets the
            # stateful ones (a deleted job stays gone, a created one can be fetched) see the history.
            case.validate_response(response, excluded_checks=[positive_data_acceptance], recorder=self.recorder)

    JobFlows.run(
        settings=settings(
            max_examples=60,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
