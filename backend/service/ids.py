"""Job ids that name the replica holding the job, so nginx can route follow-up requests.

Format: `<replica>.<32 hex>`, e.g. `gpu0.3f2a9c...`. The replica part is `[a-z0-9-]{1,32}`
and never contains a dot, so nginx can split on the first one:
`map $uri $job_replica { ~^/api/jobs/(?<r>[a-z0-9-]+)\\. $r; }`.
"""

from __future__ import annotations

import re
import socket
import uuid

_REPLICA_RE = re.compile(r"[^a-z0-9-]+")
JOB_ID_PATTERN = r"^[a-z0-9-]{1,32}\.[0-9a-f]{32}$"
_JOB_ID_RE = re.compile(JOB_ID_PATTERN)


def replica_id(configured: str = "") -> str:
    """The configured id, or one derived from the hostname (a container id under Docker)."""
    raw = configured or socket.gethostname() or "replica"
    cleaned = _REPLICA_RE.sub("-", raw.lower()).strip("-")[:32].strip("-")
    return cleaned or "replica"


def new_job_id(replica: str) -> str:
    return f"{replica}.{uuid.uuid4().hex}"


def is_job_id(value: str) -> bool:
    return bool(_JOB_ID_RE.match(value))
