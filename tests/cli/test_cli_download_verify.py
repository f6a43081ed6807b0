"""Downloads that servers get wrong: HTML pages, short bodies, wrong models, URLs that cannot work.

Files without a registry checksum must still load as the right model before they are trusted.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import torch

from backend import download_models
from backend.models import download as dl
from backend.models.registry import OFFICIAL_MODELS, list_models
from tests.cli.conftest import serving

ANIME = OFFICIAL_MODELS["realesr-animevideov3"]
LOGIN_PAGE = b"<html>login</html>\n"


def rrdb_checkpoint(scale: int) -> bytes:
    """A tiny RRDBNet (the x2plus / x4plus architecture) checkpoint."""
    from spandrel.architectures.ESRGAN.__arch.RRDB import RRDBNet

    torch.manual_seed(scale)
    net = RRDBNet(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=scale)
    buffer = io.BytesIO()
    torch.save({"params_ema": net.state_dict()}, buffer)
    return buffer.getvalue()


@dataclass
class Reply:
    """What the raw server answers for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    send_length: bool = True
    cut_at: int | None = None  # close the connection after this many body bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RawServer:
    url: str = ""
    replies: dict[str, Reply] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def _raw_handler(state: RawServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            reply = state.replies.get(self.path, Reply(status=404))
            body = reply.body if reply.cut_at is None else reply.body[: reply.cut_at]
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if reply.send_length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")  # the body ends when the connection does
            self.end_headers()
            self.wfile.write(body)
            if reply.cut_at is not None or not reply.send_length:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    state = RawServer()
    with serving(_raw_handler(state)) as state.url:
        yield state


def _argv(tmp_path: Path, base_url: str, *names: str) -> list[str]:
    models = [arg for name in names for arg in ("--model", name)]
    return [*models, "--models-dir", str(tmp_path), "--base-url", base_url, "-q", "--retries", "0"]


def _anime_path() -> str:
    return f"/{ANIME.release_tag}/{ANIME.file_name}"


# --- bug 1: files without a checksum are verified -------------------------------------------


def test_html_page_is_rejected_and_the_bundled_model_stays(
    raw_server: RawServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw_server.replies[_anime_path()] = Reply(LOGIN_PAGE, content_type="text/html")
    assert download_models.main(_argv(tmp_path, raw_server.url, ANIME.name)) == 1
    captured = capsys.readouterr()
    assert "HTML page, not weights" in captured.err and "ok:" not in captured.out
    # No file, no .part; only filelock's empty lock file may stay (it does on Unix, by design).
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == []
    entry = next(e for e in list_models(tmp_path) if e.name == ANIME.name)
    assert entry.source == "bundled"  # still served from the bundle


def test_body_cut_short_without_content_length_is_rejected(
    raw_server: RawServer, tmp_path: Path, make_ckpt: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_ckpt(5)
    raw_server.replies[_anime_path()] = Reply(data, send_length=False, cut_at=len(data) // 2)
    assert download_models.main(_argv(tmp_path, raw_server.url, ANIME.name)) == 1
    assert "does not load as weights" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == []


def test_wrong_architecture_or_scale_is_rejected(
    raw_server: RawServer, tmp_path: Path, make_ckpt: Callable[[int], bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = OFFICIAL_MODELS["RealESRGAN_x2plus"]
    raw_server.replies[f"/{spec.release_tag}/{spec.file_name}"] = Reply(make_ckpt(6))  # a Compact x4
    assert download_models.main(_argv(tmp_path, raw_server.url, spec.name)) == 1
    assert "expected RRDBNet x2" in capsys.readouterr().err
    assert not (tmp_path / spec.file_name).exists()


def test_right_architecture_passes(raw_server: RawServer, tmp_path: Path) -> None:
    spec = OFFICIAL_MODELS["RealESRGAN_x2plus"]
    data = rrdb_checkpoint(2)
    raw_server.replies[f"/{spec.release_tag}/{spec.file_name}"] = Reply(data)
    assert download_models.main(_argv(tmp_path, raw_server.url, spec.name)) == 0
    assert (tmp_path / spec.file_name).read_bytes() == data


def test_existing_bad_file_is_downloaded_again(
    raw_server: RawServer, tmp_path: Path, make_ckpt: Callable[[int], bytes]
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(LOGIN_PAGE)  # left by an older version
    data = make_ckpt(7)
    raw_server.replies[_anime_path()] = Reply(data)
    assert download_models.main(_argv(tmp_path, raw_server.url, ANIME.name)) == 0
    assert (tmp_path / ANIME.file_name).read_bytes() == data
    assert raw_server.requests == [_anime_path()]


def test_existing_bad_file_is_removed_even_when_the_download_fails(
    raw_server: RawServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ANIME.file_name).write_bytes(b"\x00" * 100)
    assert download_models.main(_argv(tmp_path, raw_server.url, ANIME.name)) == 1  # 404
    assert "HTTP 404" in capsys.readouterr().err
    assert not (tmp_path / ANIME.file_name).exists()  # the bundled model is no longer shadowed


# --- bug 5: URLs that can never work fail at once ---------------------------------------------


def test_base_url_without_scheme_fails_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    assert download_models.main(_argv(tmp_path, "127.0.0.1:8765/ok", ANIME.name)) == 1
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "http:// or https://" in err and "rerun" not in err
    assert list(tmp_path.iterdir()) == []


def test_redirect_to_unsupported_scheme_is_not_retried(raw_server: RawServer, tmp_path: Path) -> None:
    raw_server.replies["/m.pth"] = Reply(status=302, headers={"Location": "ftp://mirror.example/m.pth"})
    delays: list[float] = []
    with pytest.raises(dl.InvalidURL):
        dl.download_file(f"{raw_server.url}/m.pth", tmp_path / "m.pth", sleep=delays.append, show_progress=False)
    assert delays == [] and raw_server.requests == ["/m.pth"]
