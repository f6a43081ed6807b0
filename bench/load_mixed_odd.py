"""The mixed traffic's odd clients: uploads cut off, answers left unread, bad input and oversized uploads."""

from __future__ import annotations

import os

from bench.load_mixed_client import OVERLOAD_OK, MixedClient
from bench.load_mixed_inputs import huge_png_header, raw_multipart


class OddClientScenarios(MixedClient):
    """Clients that leave early or send what no route accepts: each must get a 4xx or cost nothing."""

    async def disconnect_upload(self) -> None:
        path = self.random.choice(("/api/upscale", "/api/jobs", "/api/upscale-info"))
        request = raw_multipart(path, self.params, self.host, self.headers, self._pick_image()[1])
        await self._raw(request[: len(request) * 2 // 3], None, path)

    async def disconnect_response(self) -> None:
        path = self.random.choice(("/api/upscale", "/api/upscale-info", "/api/upscale-batch"))
        field_name = "files" if path.endswith("batch") else "file"
        request = raw_multipart(path, self.params, self.host, self.headers, self._pick_image()[1], field_name)
        # Either leave while the job waits or runs, or after the first bytes of the answer.
        await self._raw(request, self.random.choice((None, 12)), path)

    async def bad_input(self) -> None:
        good = self.images[0]
        kind = self.random.choice(("garbage", "truncated", "huge", "empty", "scale", "model"))
        body, params, allowed = {
            "garbage": (os.urandom(500), self.params, (415,)),
            "truncated": (good[: len(good) // 2], self.params, (415, 422)),
            "huge": (huge_png_header(), self.params, (413,)),
            "empty": (b"", self.params, (400,)),
            "scale": (good, {**self.params, "scale": "1e309"}, (422,)),
            "model": (good, {**self.params, "model": "no-such-model"}, (404,)),
        }[kind]
        path = self.random.choice(("/api/upscale", "/api/upscale-info", "/api/jobs"))
        response = await self._request(
            "POST", path, path, f"bad-{kind} {path}", params=params, files={"file": ("b.png", body, "image/png")}
        )
        if response is not None:
            # Overload may come first: the queue is checked before the upload is read.
            self._check_error(f"bad-{kind} {path}", response, allowed + OVERLOAD_OK)

    async def big_upload(self) -> None:
        """1.1 MB, past the multipart parser's 1 MiB in memory, so the upload spools to a temp file:
        sent whole (415, or 413 under MAX_UPLOAD_MB=1) or cut off half-way. Kept under 1 MB plus
        the server's multipart slack: a body declared over the limit is refused before routing (the
        server still counts it under the route's template)."""
        body = self.random.randbytes(1_100_000)
        path = self.random.choice(("/api/upscale", "/api/jobs", "/api/upscale-info"))
        if self.random.random() < 0.5:
            request = raw_multipart(path, self.params, self.host, self.headers, body)
            await self._raw(request[: len(request) // 2], None, path)
            return
        response = await self._request(
            "POST", path, path, f"big-upload {path}", params=self.params, files={"file": ("big.png", body, "image/png")}
        )
        if response is not None:
            self._check_error(f"big-upload {path}", response, (413, 415, *OVERLOAD_OK))
