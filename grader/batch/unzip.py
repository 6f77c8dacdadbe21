"""Unpacking a student's .zip without trusting it: no absolute paths or `..`, no links created
(so none can be followed out), and caps on the number of files and on the bytes actually
written, so an archive that lies about its sizes or unpacks to gigabytes is refused.

Refusals are ZipRefused, one clear reason each; the batch reports it for that student and goes on.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

MAX_FILES = 1000               # a course submission has 7 files; a few hundred with notebooks and data
MAX_TOTAL_BYTES = 32 << 20     # unpacked, all members together
MAX_RATIO = 200                # uncompressed / compressed, for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20          # small members may compress well (a file of spaces) and still be harmless
CHUNK = 1 << 16
# Folders zip tools add that are never part of a submission: macOS's resource forks would
# otherwise be a second top folder beside the student's one.
SKIPPED_TOPS = ("__MACOSX",)


class ZipRefused(Exception):
    """The archive is not unpacked; `reason` says why, for the instructor."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    files: int = MAX_FILES
    total_bytes: int = MAX_TOTAL_BYTES
    ratio: float = MAX_RATIO


@dataclass(frozen=True)
class Unzipped:
    folder: Path
    notes: tuple[str, ...] = ()    # what was left out, e.g. symbolic links


def member_parts(name: str) -> tuple[str, ...]:
    """The path components of a member name; ZipRefused when it could land outside the folder."""
    if "\0" in name:
        raise ZipRefused(f"member {name!r} has a NUL character in its name")
    unified = name.replace("\\", "/")   # zips made on Windows sometimes use backslashes
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise ZipRefused(f"member {name!r} has an absolute path")
    parts = tuple(part for part in unified.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ZipRefused(f"member {name!r} climbs out of the folder with '..'")
    return parts


def _kind(info: zipfile.ZipInfo) -> str:
    """file | folder | link | other, from the Unix mode a zip made on Unix carries."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "link"
    if info.is_dir() or stat.S_ISDIR(mode):
        return "folder"
    if stat.S_IFMT(mode) == 0 or stat.S_ISREG(mode):   # no file type: a zip made on Windows, or by writestr
        return "file"
    return "other"


def check_archive(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse from the central directory alone, before a byte is written."""
    if len(infos) > limits.files:
        raise ZipRefused(f"has {len(infos)} entries; at most {limits.files} are unpacked")
    declared = sum(info.file_size for info in infos)
    if declared > limits.total_bytes:
        raise ZipRefused(f"would unpack to {declared:,} bytes; at most {limits.total_bytes:,} are allowed")
    for info in infos:
        member_parts(info.filename)
        if info.flag_bits & 0x1:
            raise ZipRefused(f"member {info.filename!r} is encrypted")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise ZipRefused(f"member {info.filename!r} is compressed {info.file_size / max(info.compress_size, 1):,.0f}"
                             f" to 1: refused as a zip bomb")


def _copy_capped(source, target, budget: int, declared: int, name: str) -> int:
    """Copy one member, counting the bytes really produced: the sizes in the archive are claims."""
    written = 0
    while chunk := source.read(CHUNK):
        written += len(chunk)
        if written > budget:
            raise ZipRefused("unpacks to more bytes than allowed (its sizes are wrong): refused as a zip bomb")
        if written > declared:
            raise ZipRefused(f"member {name!r} is larger than the archive says")
        target.write(chunk)
    return written


def safe_unzip(archive: Path, into: Path, limits: Limits = Limits()) -> Unzipped:
    """Unpack `archive` into the new folder `into`; on refusal nothing is left behind."""
    into.mkdir(parents=True)
    try:
        return _unzip(archive, into, limits)
    except ZipRefused:
        shutil.rmtree(into, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError, ValueError) as error:
        shutil.rmtree(into, ignore_errors=True)
        raise ZipRefused(f"is not a readable zip file ({type(error).__name__}: {error})") from None
    except OSError as error:
        shutil.rmtree(into, ignore_errors=True)
        raise ZipRefused(f"cannot be unpacked ({error.strerror or error})") from None


def _unzip(archive: Path, into: Path, limits: Limits) -> Unzipped:
    notes: list[str] = []
    budget = limits.total_bytes
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        check_archive(infos, limits)
        for info in infos:
            parts = member_parts(info.filename)
            if not parts or parts[0] in SKIPPED_TOPS:
                continue
            kind = _kind(info)
            target = into.joinpath(*parts)
            if kind == "folder":
                target.mkdir(parents=True, exist_ok=True)
                continue
            if kind != "file":
                # Never created: a link could point anywhere, and nothing follows what is not there.
                notes.append(f"{'/'.join(parts)} is a {'symbolic link' if kind == 'link' else 'special file'};"
                             " left out")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise ZipRefused(f"member {info.filename!r} is both a file and a folder")
            with zipped.open(info) as source, open(target, "wb") as sink:
                budget -= _copy_capped(source, sink, budget, info.file_size, info.filename)
    return Unzipped(into, tuple(notes))
