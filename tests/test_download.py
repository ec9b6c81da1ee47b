"""`sct download` against a local HTTP server on 127.0.0.1 serving ../shared/data: resume, checksums, archives."""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from sct.cli import main
from sct.data import file_sha256, find_data_root
from sct.download import SOURCES, download
from sct.errors import DataError
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared data not present")


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder and honours 'Range: bytes=N-' (SimpleHTTPRequestHandler does not)."""

    ranges: list[str] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        requested = self.headers.get("Range")
        if requested:
            type(self).ranges.append(requested)
            start = int(requested.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def serve():
    """serve(folder) -> base URL on 127.0.0.1; the server stops after the test."""
    servers = []

    def start(folder: Path) -> str:
        _RangeHandler.ranges = []
        handler = functools.partial(_RangeHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


STSB = SHARED_DATA / "stsbenchmark.tsv.gz"


def test_single_file_download_is_verified_and_installed(serve, tmp_path):
    base = serve(SHARED_DATA)
    path = download("stsb", tmp_path, url=f"{base}/stsbenchmark.tsv.gz", sha256=file_sha256(STSB))
    assert path == tmp_path / "stsbenchmark.tsv.gz" and path.read_bytes() == STSB.read_bytes()
    assert (tmp_path / "downloads" / "stsb.json").is_file()
    assert download("stsb", tmp_path, url=f"{base}/missing") == path  # installed: nothing fetched


def test_partial_download_resumes_with_a_range_request(serve, tmp_path):
    base = serve(SHARED_DATA)
    part = tmp_path / "downloads" / "stsbenchmark.tsv.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(STSB.read_bytes()[:1000])
    path = download("stsb", tmp_path, url=f"{base}/stsbenchmark.tsv.gz", sha256=file_sha256(STSB))
    assert _RangeHandler.ranges == ["bytes=1000-"]
    assert path.read_bytes() == STSB.read_bytes() and not part.exists()


def test_checksum_mismatch_removes_the_file(serve, tmp_path, capsys):
    base = serve(SHARED_DATA)
    args = ["download", "stsb", "--dest", str(tmp_path), "--url", f"{base}/stsbenchmark.tsv.gz", "--sha256", "0" * 64]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and "the file was removed" in err
    assert not (tmp_path / "stsbenchmark.tsv.gz").exists()
    assert not (tmp_path / "downloads" / "stsbenchmark.tsv.gz").exists()


def test_first_download_without_checksum_is_recorded_and_enforced(serve, tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    shutil.copy(STSB, folder / "stsbenchmark.tsv.gz")
    base = serve(folder)
    url = f"{base}/stsbenchmark.tsv.gz"
    download("stsb", tmp_path / "d", url=url)
    assert (tmp_path / "d" / "downloads" / "checksums.json").read_text().count(file_sha256(STSB)) == 1
    (folder / "stsbenchmark.tsv.gz").write_bytes(b"changed upstream")
    with pytest.raises(DataError, match="checksum mismatch"):
        download("stsb", tmp_path / "d", url=url, force=True)
    assert (tmp_path / "d" / "stsbenchmark.tsv.gz").read_bytes() == STSB.read_bytes()  # old copy untouched


def test_senteval_tar_extracts_into_the_data_root(serve, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    with tarfile.open(www / "senteval.tar", "w") as tar:  # SimCSE's layout: STS/, SICK/ at the top
        tar.add(SHARED_DATA / "senteval" / "STS" / "STSBenchmark", "STS/STSBenchmark")
        tar.add(SHARED_DATA / "senteval" / "SICK", "SICK")
    base = serve(www)
    dest = tmp_path / "cache"
    assert main(["download", "senteval", "--dest", str(dest), "--url", f"{base}/senteval.tar"]) == 0
    train = dest / "senteval" / "SICK" / "SICK_train.txt"
    assert train.read_bytes() == (SHARED_DATA / "senteval" / "SICK" / "SICK_train.txt").read_bytes()
    assert find_data_root(dest).senteval == (dest / "senteval").resolve()
    assert not list(dest.glob(".*incomplete"))


def test_useb_zip_extracts_the_data_eval_folder(serve, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    with zipfile.ZipFile(www / "data-eval.zip", "w") as zipped:
        for f in (SHARED_DATA / "useb" / "twitterpara").iterdir():
            zipped.write(f, f"data-eval/twitterpara/{f.name}")
    base = serve(www)
    path = download("useb", tmp_path / "cache", url=f"{base}/data-eval.zip")
    assert path == tmp_path / "cache" / "useb" and (path / "twitterpara" / "test.data").is_file()


def test_archive_escaping_its_folder_is_refused(serve, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    with tarfile.open(www / "senteval.tar", "w") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    base = serve(www)
    with pytest.raises(DataError, match="outside the target"):
        download("senteval", tmp_path / "cache", url=f"{base}/senteval.tar")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "senteval").exists()


def test_offline_gives_a_clear_message(tmp_path, capsys):
    with socket.socket() as probe:  # a port on 127.0.0.1 with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["download", "nli", "--dest", str(tmp_path), "--url", f"http://127.0.0.1:{port}/nli.csv"]) == 2
    err = capsys.readouterr().err
    assert "looks offline" in err and "--file PATH" in err


def test_local_file_is_verified_and_installed_without_network(tmp_path):
    path = download("stsb", tmp_path, file=STSB, sha256=file_sha256(STSB))
    assert path.read_bytes() == STSB.read_bytes()


def test_every_source_points_at_its_original_public_url():
    hosts = {name: s.url.split("/")[2] for name, s in SOURCES.items()}
    assert hosts == {"senteval": "huggingface.co", "stsb": "sbert.net",
                     "useb": "public.ukp.informatik.tu-darmstadt.de", "nli": "huggingface.co"}  # fmt: skip
