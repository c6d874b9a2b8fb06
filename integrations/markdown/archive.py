"""Reading an import: a zip (REST) or a folder (kb_import) becomes {relative path: bytes}.

Hostile input is refused as a whole, with a message per problem: paths that climb out (`..`,
absolute, drive letters, backslashes), links, too many files, too much data once unpacked (a zip
bomb is caught while reading, whatever its headers claim), a file over the byte size limit.
Hidden entries (.git, .DS_Store) and files other than `.md` are skipped.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings


class ImportRefused(Exception):
    """The import changes nothing; `errors` says why, one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def max_file_bytes() -> int:
    # A byte's content in UTF-8 (at most 4 bytes a character) plus its front matter.
    return settings.KB_BYTE_MAX_CHARS * 4 + 8192


def _check_name(name: str) -> str | None:
    """The clean relative path, None to skip it; raises for a path that climbs out."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise ValueError(f"{name!r}: absolute or Windows-style paths are not allowed")
    parts = PurePosixPath(name).parts
    if any(part == ".." for part in parts):
        raise ValueError(f"{name!r}: '..' is not allowed in a path")
    if any(part.startswith(".") for part in parts):
        return None
    return "/".join(parts)


def read_zip(data: bytes) -> dict[str, bytes]:
    if len(data) > settings.KB_IMPORT_MAX_ZIP_BYTES:
        raise ImportRefused([f"The zip is larger than {settings.KB_IMPORT_MAX_ZIP_BYTES} bytes."])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImportRefused([f"Not a zip file ({error})."]) from None
    if len(entries) > settings.KB_IMPORT_MAX_FILES:
        raise ImportRefused(
            [f"The zip holds {len(entries)} entries; at most {settings.KB_IMPORT_MAX_FILES}."]
        )
    errors: list[str] = []
    files: dict[str, bytes] = {}
    budget = settings.KB_IMPORT_MAX_UNPACKED_BYTES
    for entry in entries:
        try:
            name = _check_name(entry.filename)
        except ValueError as error:
            errors.append(str(error))
            continue
        mode = entry.external_attr >> 16
        if stat.S_ISLNK(mode):
            errors.append(f"{entry.filename!r}: links are not allowed")
            continue
        if entry.is_dir() or name is None or not name.endswith(".md"):
            continue
        if name in files:
            errors.append(f"{name!r} appears twice in the zip")
            continue
        limit = min(max_file_bytes(), budget)
        try:
            with archive.open(entry) as stream:
                content = stream.read(limit + 1)  # never trust the header's size
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as error:
            errors.append(f"{name!r}: cannot be read ({error})")
            continue
        if len(content) > limit:
            if limit < max_file_bytes():
                raise ImportRefused(
                    [f"Unpacked, the zip is larger than {settings.KB_IMPORT_MAX_UNPACKED_BYTES} bytes."]
                )
            errors.append(f"{name!r}: larger than a byte may be ({max_file_bytes()} bytes)")
            continue
        budget -= len(content)
        files[name] = content
    if errors:
        raise ImportRefused(errors)
    return _strip_wrapper(files)


def _strip_wrapper(files: dict[str, bytes]) -> dict[str, bytes]:
    """Accept a zip whose whole tree sits in one top folder (as zip tools often make it)."""
    if "_index.md" in files or not files:
        return files
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        if f"{top}/_index.md" in files:
            return {name.split("/", 1)[1]: data for name, data in files.items()}
    return files


def read_folder(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        raise ImportRefused([f"{directory} is not a folder."])
    errors: list[str] = []
    files: dict[str, bytes] = {}
    budget = settings.KB_IMPORT_MAX_UNPACKED_BYTES
    for root, dirs, names in os.walk(directory, followlinks=False):
        base = Path(root)
        for name in list(dirs):
            if name.startswith("."):
                dirs.remove(name)
            elif (base / name).is_symlink():
                errors.append(f"{(base / name).relative_to(directory)}: links are not allowed")
                dirs.remove(name)
        for name in names:
            path = base / name
            relative = path.relative_to(directory).as_posix()
            if name.startswith(".") or not name.endswith(".md"):
                continue
            if path.is_symlink() or not path.is_file():
                errors.append(f"{relative}: links and special files are not allowed")
                continue
            if len(files) >= settings.KB_IMPORT_MAX_FILES:
                raise ImportRefused([f"More than {settings.KB_IMPORT_MAX_FILES} files."])
            with open(path, "rb") as stream:
                content = stream.read(max_file_bytes() + 1)
            if len(content) > max_file_bytes():
                errors.append(f"{relative}: larger than a byte may be ({max_file_bytes()} bytes)")
                continue
            budget -= len(content)
            if budget < 0:
                raise ImportRefused([f"More than {settings.KB_IMPORT_MAX_UNPACKED_BYTES} bytes of files."])
            files[relative] = content
    if errors:
        raise ImportRefused(errors)
    return files
