"""Folder of markdown -> workspace, through bytes_app's services (so an edited file becomes a new
revision merged into live rooms, exactly like a REST write), in one transaction: all or nothing.

Bytes and modules are matched by the `id` in their front matter (the key exports write), else by
path; so a moved file moves its byte (same row, same id), and importing the same folder twice
changes nothing. A dry run does everything, reports it, and rolls back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from bytes_app import services
from bytes_app.models import Byte, Module, Workspace
from bytes_app.selectors import module_paths
from bytes_app.services import SLUG_RE

from ..models import ExternalKey
from . import frontmatter
from .archive import ImportRefused
from .export import FORMAT, INDEX
from .keys import objects_by_key, remember

ROOT_KEYS = {"format", "modules"}
MODULE_KEYS = {"id", "name", "modules", "bytes"}
BYTE_KEYS = {"id", "title", "tags"}


@dataclass
class ModuleSpec:
    path: str
    parent: str | None
    slug: str
    key: str | None = None
    name: str = ""
    description: str = ""
    position: int = 0
    order_modules: list[str] = field(default_factory=list)
    order_bytes: list[str] = field(default_factory=list)


@dataclass
class ByteSpec:
    file: str
    module: str
    slug: str
    key: str | None
    title: str
    tags: list[str]
    content: str
    position: int = 0


@dataclass
class Report:
    dry_run: bool = False
    modules_created: list[str] = field(default_factory=list)
    modules_updated: list[str] = field(default_factory=list)
    modules_moved: list[str] = field(default_factory=list)
    modules_deleted: list[str] = field(default_factory=list)
    bytes_created: list[str] = field(default_factory=list)
    bytes_updated: list[str] = field(default_factory=list)
    bytes_moved: list[str] = field(default_factory=list)
    bytes_deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return any(value for key, value in vars(self).items() if key not in ("dry_run", "unchanged"))


def _text(name: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if "\x00" in text:
        raise ValueError(f"{name}: contains a NUL character")
    return text


def _string(name: str, key: str, value: Any, *, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ValueError(f"{name}: '{key}' must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{name}: '{key}' is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name}: '{key}' holds an unpaired surrogate") from None
    if "\x00" in value:
        raise ValueError(f"{name}: '{key}' contains a NUL character")
    return value


def _slug_list(name: str, key: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name}: '{key}' must be a list of slugs")
    return value


def _meta(name: str, text: str, allowed: set[str]) -> tuple[dict[str, Any], str]:
    try:
        meta, body = frontmatter.parse(text)
    except frontmatter.FrontMatterError as error:
        raise ValueError(f"{name}: invalid front matter: {error}") from None
    meta = meta or {}
    unknown = sorted(set(meta) - allowed)
    if unknown:
        raise ValueError(f"{name}: unknown front matter key(s) {unknown}; allowed: {sorted(allowed)}")
    if "id" in meta and meta["id"] is not None:
        meta["id"] = _string(
            name, "id", str(meta["id"]) if isinstance(meta["id"], int) else meta["id"], limit=40
        )
    return meta, body


def _check_slug(name: str, slug: str, limit: int) -> None:
    if not SLUG_RE.match(slug) or len(slug) > limit:
        raise ValueError(
            f"{name}: {slug!r} is not a slug (lower-case letters, digits, '-' and '_', at most {limit})"
        )


def _ordered(names: list[str], wanted: list[str]) -> list[str]:
    """`names` in the order `wanted` gives, the others after them alphabetically."""
    rank = {slug: number for number, slug in enumerate(wanted)}
    return sorted(names, key=lambda slug: (rank.get(slug, len(rank)), slug))


def parse_tree(files: dict[str, bytes]) -> tuple[list[ModuleSpec], list[ByteSpec]]:
    """The modules (parents first, in order) and bytes the files describe; ImportRefused if any is bad."""
    errors: list[str] = []
    folders: dict[str, ModuleSpec] = {}
    byte_files: dict[str, list[str]] = defaultdict(list)
    root_order: list[str] = []

    def folder(path: str) -> None:
        if path in folders:
            return
        parent, _, slug = path.rpartition("/")
        try:
            _check_slug(path + "/", slug, 120)
        except ValueError as error:
            errors.append(str(error))
        folders[path] = ModuleSpec(path=path, parent=parent or None, slug=slug, name=slug)
        if parent:
            folder(parent)

    for name in sorted(files):
        directory, _, filename = name.rpartition("/")
        if directory:
            folder(directory)
        elif filename != INDEX:
            errors.append(f"{name}: bytes live in modules; put it in a folder")
            continue
        if filename != INDEX:
            byte_files[directory].append(filename)

    for name, data in sorted(files.items()):
        directory, _, filename = name.rpartition("/")
        if filename != INDEX:
            continue
        try:
            text = _text(name, data)
            if not directory:
                meta, _ = _meta(name, text, ROOT_KEYS)
                if meta.get("format", FORMAT) != FORMAT:
                    raise ValueError(f"{name}: format {meta['format']!r} is not one this kb reads ({FORMAT})")
                root_order = _slug_list(name, "modules", meta.get("modules"))
                continue
            meta, body = _meta(name, text, MODULE_KEYS)
            spec = folders[directory]
            spec.key = meta.get("id")
            spec.name = _string(name, "name", meta.get("name", spec.slug), limit=120)
            spec.description = _string(name, "description", body, limit=2000, empty=True)
            spec.order_modules = _slug_list(name, "modules", meta.get("modules"))
            spec.order_bytes = _slug_list(name, "bytes", meta.get("bytes"))
        except ValueError as error:
            errors.append(str(error))

    limit = settings.KB_BYTE_MAX_CHARS
    specs: list[ByteSpec] = []
    for directory, filenames in sorted(byte_files.items()):
        for filename in filenames:
            name = f"{directory}/{filename}"
            slug = filename.removesuffix(".md")
            try:
                _check_slug(name, slug, 200)
                meta, body = _meta(name, _text(name, files[name]), BYTE_KEYS)
                title = _string(name, "title", meta.get("title", slug), limit=200)
                tags = meta.get("tags") or []
                if isinstance(tags, str):
                    tags = [tag.strip() for tag in tags.split(",") if tag.strip()]
                if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                    raise ValueError(f"{name}: 'tags' must be a list of strings")
                if len(body) > limit:
                    raise ValueError(
                        f"{name}: content is {len(body)} characters; a byte holds at most {limit}"
                    )
                specs.append(ByteSpec(name, directory, slug, meta.get("id"), title, tags, body))
            except ValueError as error:
                errors.append(str(error))

    keys: dict[tuple[str, str], str] = {}
    for kind, key, where in [("module", spec.key, spec.path + "/") for spec in folders.values()] + [
        ("byte", spec.key, spec.file) for spec in specs
    ]:
        if key is not None:
            if (kind, key) in keys:
                errors.append(f"{where}: id {key!r} is also the id of {keys[kind, key]}")
            keys[kind, key] = where
    if errors:
        raise ImportRefused(errors)

    children: dict[str | None, list[str]] = defaultdict(list)
    for spec in folders.values():
        children[spec.parent].append(spec.slug)
    ordered: list[ModuleSpec] = []

    def walk(parent: str | None, order: list[str]) -> None:
        for position, slug in enumerate(_ordered(children[parent], order)):
            spec = folders[f"{parent}/{slug}" if parent else slug]
            spec.position = position
            ordered.append(spec)
            walk(spec.path, spec.order_modules)

    walk(None, root_order)
    by_module: dict[str, list[ByteSpec]] = defaultdict(list)
    for spec in specs:
        by_module[spec.module].append(spec)
    bytes_in_order: list[ByteSpec] = []
    for module in ordered:
        mine = {spec.slug: spec for spec in by_module[module.path]}
        for position, slug in enumerate(_ordered(list(mine), module.order_bytes)):
            mine[slug].position = position
            bytes_in_order.append(mine[slug])
    return ordered, bytes_in_order


def import_files(
    *, workspace: Workspace, user: Any, files: dict[str, bytes], dry_run: bool = False, delete: bool = False
) -> Report:
    """Make the workspace match the files (deleting what they lack only with `delete`)."""
    modules, byte_specs = parse_tree(files)
    report = Report(dry_run=dry_run)
    with transaction.atomic():
        try:
            _apply(workspace, user, modules, byte_specs, report, delete=delete)
        except ValidationError as error:
            raise ImportRefused([str(message) for message in error.messages]) from None
        if dry_run:
            transaction.set_rollback(True)
    return report


def _fail(where: str, error: ValidationError) -> ImportRefused:
    return ImportRefused([f"{where}: {message}" for message in error.messages])


def _apply(
    workspace: Workspace,
    user: Any,
    modules: list[ModuleSpec],
    byte_specs: list[ByteSpec],
    report: Report,
    *,
    delete: bool,
) -> None:
    existing = {module.pk: module for module in Module.objects.filter(workspace=workspace)}
    paths = module_paths(workspace.pk)
    by_path = {path: pk for pk, path in paths.items()}
    module_keys = objects_by_key(workspace.pk, ExternalKey.Kind.MODULE)
    resolved: dict[str, Module] = {}
    claimed: set[int] = set()
    for spec in modules:
        parent = resolved[spec.parent] if spec.parent else None
        pk = module_keys.get(spec.key) if spec.key else None
        if pk not in existing or pk in claimed:
            pk = by_path.get(spec.path)
            if pk in claimed:
                pk = None
        where = spec.path + "/"
        try:
            if pk is None:
                module = services.module_create(
                    workspace=workspace,
                    name=spec.name,
                    parent=parent,
                    slug=spec.slug,
                    description=spec.description,
                    position=spec.position,
                )
                report.modules_created.append(spec.path)
            else:
                module = Module.objects.get(pk=pk)
                same = (module.name, module.slug, module.description) == (
                    spec.name,
                    spec.slug,
                    spec.description,
                )
                if not same:
                    module = services.module_update(
                        module=module, name=spec.name, slug=spec.slug, description=spec.description
                    )
                    report.modules_updated.append(spec.path)
                moved = module.parent_id != (parent.pk if parent else None)
                if moved or module.position != spec.position:
                    module = services.module_move(module=module, parent=parent, position=spec.position)
                    if moved:
                        report.modules_moved.append(spec.path)
                if same and not moved:
                    report.unchanged += 1
        except ValidationError as error:
            raise _fail(where, error) from None
        if spec.key:
            remember(workspace.pk, ExternalKey.Kind.MODULE, module.pk, spec.key)
        resolved[spec.path] = module
        claimed.add(module.pk)

    current = {
        byte.pk: byte for byte in Byte.objects.filter(module__workspace=workspace).select_related("module")
    }
    by_byte_path = {(byte.module_id, byte.slug): byte.pk for byte in current.values()}
    byte_keys = objects_by_key(workspace.pk, ExternalKey.Kind.BYTE)
    taken: set[int] = set()
    for spec in byte_specs:
        module = resolved[spec.module]
        pk = byte_keys.get(spec.key) if spec.key else None
        if pk not in current or pk in taken:
            pk = by_byte_path.get((module.pk, spec.slug))
            if pk in taken:
                pk = None
        try:
            if pk is None:
                byte = services.byte_create(
                    module=module,
                    user=user,
                    title=spec.title,
                    content=spec.content,
                    slug=spec.slug,
                    tags=spec.tags,
                    position=spec.position,
                )
                report.bytes_created.append(spec.file)
            else:
                byte = Byte.objects.select_related("module").get(pk=pk)
                moved = byte.module_id != module.pk
                if moved or byte.position != spec.position:
                    byte = services.byte_move(byte=byte, user=user, module=module, position=spec.position)
                    if moved:
                        report.bytes_moved.append(spec.file)
                tags = sorted({tag.strip().lower() for tag in spec.tags if tag.strip()})
                same = (byte.title, byte.slug, byte.content) == (
                    spec.title,
                    spec.slug,
                    spec.content,
                ) and tags == sorted(byte.tags.values_list("name", flat=True))
                if not same:
                    services.byte_update(
                        byte=byte,
                        user=user,
                        title=spec.title,
                        slug=spec.slug,
                        content=spec.content,
                        tags=spec.tags,
                    )
                    report.bytes_updated.append(spec.file)
                if same and not moved:
                    report.unchanged += 1
        except ValidationError as error:
            raise _fail(spec.file, error) from None
        if spec.key:
            remember(workspace.pk, ExternalKey.Kind.BYTE, byte.pk, spec.key)
        taken.add(byte.pk)

    if delete:
        for pk, byte in current.items():
            if pk not in taken:
                report.bytes_deleted.append(f"{paths[byte.module_id]}/{byte.slug}.md")
                services.byte_delete(byte=Byte.objects.get(pk=pk))
        for pk in sorted(set(existing) - claimed, key=lambda pk: paths[pk].count("/")):
            module = Module.objects.filter(pk=pk).first()
            if module is not None:
                report.modules_deleted.append(paths[pk])
                services.module_delete(module=module)
