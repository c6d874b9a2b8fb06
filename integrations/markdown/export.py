"""Workspace -> {relative path: file bytes}, deterministic: the same workspace gives the same bytes."""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from pathlib import Path

from bytes_app.models import Byte, Module, Workspace

from ..models import ExternalKey
from . import frontmatter
from .keys import keys_for

INDEX = "_index.md"
FORMAT = 1


def export_files(workspace: Workspace) -> dict[str, bytes]:
    modules = list(Module.objects.filter(workspace=workspace).order_by("position", "id"))
    bytes_ = list(
        Byte.objects.filter(module__workspace=workspace).prefetch_related("tags").order_by("position", "id")
    )
    module_keys = keys_for(workspace.pk, ExternalKey.Kind.MODULE, [module.pk for module in modules])
    byte_keys = keys_for(workspace.pk, ExternalKey.Kind.BYTE, [byte.pk for byte in bytes_])
    children: dict[int | None, list[Module]] = defaultdict(list)
    for module in modules:
        children[module.parent_id].append(module)
    contents: dict[int, list[Byte]] = defaultdict(list)
    for byte in bytes_:
        contents[byte.module_id].append(byte)

    files: dict[str, bytes] = {}
    root = {"format": FORMAT, "modules": [module.slug for module in children[None]]}
    files[INDEX] = frontmatter.render(root, "").encode()

    def walk(module: Module, folder: str) -> None:
        meta = {
            "id": module_keys[module.pk],
            "name": module.name,
            "modules": [child.slug for child in children[module.pk]],
            "bytes": [byte.slug for byte in contents[module.pk]],
        }
        files[f"{folder}/{INDEX}"] = frontmatter.render(meta, module.description).encode()
        for byte in contents[module.pk]:
            byte_meta = {
                "id": byte_keys[byte.pk],
                "title": byte.title,
                "tags": sorted(tag.name for tag in byte.tags.all()),
            }
            files[f"{folder}/{byte.slug}.md"] = frontmatter.render(byte_meta, byte.content).encode()
        for child in children[module.pk]:
            walk(child, f"{folder}/{child.slug}")

    for module in children[None]:
        walk(module, module.slug)
    return files


def write_folder(files: dict[str, bytes], directory: Path) -> None:
    """Write the export into `directory`, removing markdown files of earlier exports that are gone
    (hidden entries such as .git are left alone)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(directory.rglob("*.md"), reverse=True):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or path.is_symlink():
            continue
        if relative.as_posix() not in files:
            path.unlink()
    for folder in sorted((p for p in directory.rglob("*") if p.is_dir()), reverse=True):
        relative = folder.relative_to(directory)
        if not any(part.startswith(".") for part in relative.parts) and not any(folder.iterdir()):
            folder.rmdir()
    for name, data in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():  # never write through a link to somewhere else
            target.unlink()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip of the export; fixed timestamps, so the same workspace gives the same zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()
