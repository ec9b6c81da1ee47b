"""``sct download``: fetch the benchmark data from its original public URLs into ``~/.cache/sct``.

Each source is one file. Downloads go to ``<dest>/downloads/<file>.part`` and resume from there with
an HTTP Range request; the finished file is checked against its sha256 (a mismatch removes it), then
archives are unpacked (members that would land outside the target are refused) into a temporary
folder and renamed into place, so a half-extracted folder never looks complete. The layout is the
data root every command reads: ``senteval/`` (SentEval's data/downstream), ``useb/`` (USEB's
data-eval), ``stsbenchmark.tsv.gz``, ``nli/``.

Checksums: the upstream projects publish none. A source without a pinned sha256 records the hash of
its first verified download in ``downloads/checksums.json`` and every later download of that URL is
checked against it (trust on first use); ``--sha256`` pins one explicitly.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm.auto import tqdm

from sct.data import file_sha256, write_json_atomic
from sct.errors import DataError
from sct.paths import sct_home

logger = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    url: str
    kind: str  # "tar", "zip" or "file"
    target: str  # path under the destination
    marker: str | None  # archives: the folder whose parent becomes the target (found at any depth)
    description: str
    sha256: str | None = None


SOURCES: dict[str, Source] = {
    "senteval": Source(
        "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/senteval.tar",
        "tar", "senteval", "STS",
        "SentEval's data/downstream as SimCSE packs it (STS12-16, STS-B, SICK, MRPC, ...)",
    ),
    "stsb": Source(
        "https://sbert.net/datasets/stsbenchmark.tsv.gz", "file", "stsbenchmark.tsv.gz", None,
        "sentence-transformers' STS-B file (the SCT authors' dev-set reader's layout)",
    ),
    "useb": Source(
        "https://public.ukp.informatik.tu-darmstadt.de/kwang/unsupse-benchmark/tsdae-evaluation/data-eval.zip",
        "zip", "useb", "twitterpara", "USEB's evaluation data (AskUbuntu, CQADupStack, SciDocs, TwitterPara)",
    ),
    "nli": Source(
        "https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/main/nli_for_simcse.csv",
        "file", "nli/nli_for_simcse.csv", None, "SimCSE's NLI training file (SNLI + MNLI triplets)",
    ),
}  # fmt: skip


def _checksums_path(dest: Path) -> Path:
    return dest / "downloads" / "checksums.json"


def _recorded(dest: Path) -> dict[str, str]:
    path = _checksums_path(dest)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON (recorded checksums); fix or delete it") from exc


def fetch(url: str, target: Path, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``target``, resuming ``target.part`` when the server honours Range requests."""
    part = target.with_name(target.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = response.status == 206
            if offset and not resumed:
                logger.info("%s: server ignored the resume request; starting again", url)
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            with (
                open(part, "ab" if resumed else "wb") as handle,
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=target.name) as bar,
            ):
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file already holds every byte
            logger.info("%s: already complete", part)
        else:
            raise DataError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        kept = ""
        if part.exists():
            kept = f" {part} keeps the {part.stat().st_size} bytes received; running again resumes."
        raise DataError(
            f"cannot download {url}: {reason}. This machine looks offline (or the host is unreachable).{kept} "
            "Offline: fetch the URL on a connected machine and pass the file with --file PATH, or point "
            "--data-dir / $SCT_DATA at a copy of the data."
        ) from exc
    part.replace(target)
    return target


def verify(path: Path, expected: str | None, url: str, dest: Path) -> str:
    """Check ``path`` against ``expected`` (or the hash recorded for ``url``); a mismatch removes the file."""
    actual = file_sha256(path)
    recorded = _recorded(dest)
    expected = expected or recorded.get(url)
    if expected is not None and actual != expected.lower():
        path.unlink()
        raise DataError(
            f"checksum mismatch for {path} (from {url}): expected sha256 {expected}, got {actual}; "
            "the file was removed. Run the download again; if it keeps failing the upstream file changed."
        )
    if expected is None:
        logger.warning("%s: no published checksum; recorded sha256 %s (later downloads must match)", url, actual)
        write_json_atomic(_checksums_path(dest), {**recorded, url: actual}, sort_keys=True)
    return actual


def _safe_members(names: list[str], archive: Path) -> None:
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts:
            raise DataError(f"{archive}: member {name!r} would be written outside the target; refusing to unpack")


def extract(archive: Path, kind: str, into: Path) -> None:
    """Unpack a tar or zip into ``into`` (which must not exist yet)."""
    into.mkdir(parents=True)
    try:
        if kind == "tar":
            with tarfile.open(archive) as tar:
                _safe_members(tar.getnames(), archive)
                tar.extractall(into, filter="data")
        else:
            with zipfile.ZipFile(archive) as zipped:
                _safe_members(zipped.namelist(), archive)
                zipped.extractall(into)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{archive}: not a readable {kind} archive ({exc}); delete it and download again") from exc


def _find_parent_of(root: Path, marker: str, archive: Path) -> Path:
    for path in sorted(root.rglob(marker), key=lambda p: len(p.parts)):
        if path.is_dir():
            return path.parent
    raise DataError(f"{archive}: no {marker}/ folder inside; not the expected archive")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def download(
    name: str, dest: Path | None = None, url: str | None = None, sha256: str | None = None,
    file: Path | None = None, force: bool = False,
) -> Path:  # fmt: skip
    """Fetch (or take ``file``), verify and install one source; returns the installed path."""
    if name not in SOURCES:
        raise DataError(f"unknown download {name!r}; valid: {', '.join(SOURCES)}")
    source = SOURCES[name]
    dest = Path(dest) if dest is not None else sct_home()
    url = url or source.url
    installed = dest / source.target
    if installed.exists() and not force:
        logger.info("%s: already installed at %s (--force to replace)", name, installed)
        return installed
    if file is not None:
        archive = Path(file)
        if not archive.is_file():
            raise DataError(f"{archive}: file not found (--file)")
    else:
        archive = fetch(url, dest / "downloads" / Path(url.split("?")[0]).name)
    digest = verify(archive, sha256 or source.sha256, url, dest)
    work = installed.with_name(f".{installed.name}.incomplete")
    _remove(work)
    if source.kind == "file":
        work.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, work)
        payload = work
    else:
        extract(archive, source.kind, work)
        payload = _find_parent_of(work, source.marker or "", archive)
    _remove(installed)
    payload.replace(installed)
    _remove(work)
    write_json_atomic(
        dest / "downloads" / f"{name}.json",
        {
            "source": name,
            "url": url,
            "sha256": digest,
            "file": str(archive),
            "installed": str(installed),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },  # fmt: skip
    )
    return installed
