"""Schemathesis against /openapi.json: no generated request may produce a 5xx, and every answer
is one the document promises (status code, content type, headers, body schema), so a client
generated from it can read what the server sends; data the schema forbids must be refused, and
no route the document leaves open may ask for a key.

Left out: `positive_data_acceptance` (schema-valid data must be accepted). No schema can say
"bytes that decode as an image", so a schema-valid random `file` is rightly refused.

The schemathesis pytest plugin does not run under pytest 9 yet, so this drives its
hypothesis strategies directly, one operation at a time, valid and invalid data both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api.conftest import Server, start_server

EXAMPLES_PER_OPERATION = 6
# Data the schema forbids may also be refused by a size limit: more files than maxItems is 413
# too_many_files (README: every size limit is a 413).
_REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]
_CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": _REFUSALS}}})


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, models_dir) -> Iterator[Server]:  # noqa: ANN001
    # A roomy queue: a full queue's 503 is intended behaviour, not the bug this test hunts.
    server = start_server(tmp_path_factory.mktemp("fuzz"), models_dir, QUEUE_SIZE="200", MAX_SCALE="2")
    yield server
    server.stop()


def _only_retypes_multipart_fields(case: schemathesis.Case) -> bool:
    """A negative case whose only change is a multipart field's JSON type (a file given as `false`):
    multipart carries text and bytes alone, so on the wire it is a valid value, and accepting it is
    right."""
    data = case.meta.phase.data if case.meta is not None else None
    mutations = getattr(data, "mutations", None) or []
    return (
        (case.media_type or "").startswith("multipart/")
        and all(
            m.operator == OperatorKind.CHANGE_TYPE and m.parameter_location == ParameterLocation.BODY for m in mutations
        )
        and bool(mutations)
    )


def _check(case: schemathesis.Case, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=60)
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:500]}"
    excluded = [positive_data_acceptance]
    if _only_retypes_multipart_fields(case):
        excluded.append(negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
    content_type = response.headers.get("content-type") or [""]
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("detail"), str) and isinstance(body.get("code"), str), body


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_generated_requests_get_documented_answers(fuzz_server: Server, mode: schemathesis.GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json", config=_CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            _check(case, fuzz_server.url)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (e.g. GET /api/health has no parameters)
            assert mode is schemathesis.GenerationMode.NEGATIVE
