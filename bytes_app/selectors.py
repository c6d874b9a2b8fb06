"""Reads: what a user can see, module paths and trees, link resolution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet

from .links import split_target
from .models import Byte, Link, Membership, Module, Tag, Workspace

if TYPE_CHECKING:
    from .access import AnyUser


def _member_workspace_ids(user: AnyUser) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(user_id=user.pk).values("workspace_id")


def workspaces_for(user: AnyUser) -> QuerySet[Workspace]:
    """The user's workspaces, each annotated with `role`."""
    return Workspace.objects.filter(memberships__user_id=user.pk).annotate(role=F("memberships__role"))


def modules_visible_to(user: AnyUser) -> QuerySet[Module]:
    return Module.objects.filter(workspace_id__in=_member_workspace_ids(user))


def bytes_visible_to(user: AnyUser) -> QuerySet[Byte]:
    return Byte.objects.filter(module__workspace_id__in=_member_workspace_ids(user))


def tags_visible_to(user: AnyUser) -> QuerySet[Tag]:
    return Tag.objects.filter(workspace_id__in=_member_workspace_ids(user))


def module_paths(workspace_id: int) -> dict[int, str]:
    """Each module's slug path from the workspace root ("ops/deploy"), in one query."""
    rows = {
        pk: (parent_id, slug)
        for pk, parent_id, slug in Module.objects.filter(workspace_id=workspace_id).values_list(
            "id", "parent_id", "slug"
        )
    }
    paths: dict[int, str] = {}

    def path_of(pk: int) -> str:
        if pk not in paths:
            parent_id, slug = rows[pk]
            paths[pk] = f"{path_of(parent_id)}/{slug}" if parent_id else slug
        return paths[pk]

    for pk in rows:
        path_of(pk)
    return paths


def module_path(module: Module) -> str:
    return module_paths(module.workspace_id)[module.pk]


def byte_path(byte: Byte) -> str:
    return f"{module_path(byte.module)}/{byte.slug}"


def module_subtree_ids(module: Module) -> set[int]:
    """The module and all its descendants."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Module.objects.filter(workspace_id=module.workspace_id).values_list(
        "id", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), [module.pk]
    while stack:
        pk = stack.pop()
        found.add(pk)
        stack.extend(children.get(pk, []))
    return found


def module_tree(workspace: Workspace) -> list[dict[str, Any]]:
    """The workspace's modules as nested dicts, siblings in position order."""
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    modules = list(workspace.modules.order_by("position", "id"))
    paths = module_paths(workspace.pk)
    for module in modules:
        nodes[module.pk] = {
            "id": module.pk,
            "name": module.name,
            "slug": module.slug,
            "path": paths[module.pk],
            "description": module.description,
            "position": module.position,
            "parent": module.parent_id,
            "children": [],
        }
    for module in modules:
        node = nodes[module.pk]
        (nodes[module.parent_id]["children"] if module.parent_id else roots).append(node)
    return roots


@dataclass(frozen=True)
class ResolvedLink:
    target: str
    label: str
    byte: Byte | None

    @property
    def broken(self) -> bool:
        return self.byte is None


def outgoing_links(byte: Byte) -> list[ResolvedLink]:
    """The byte's links, each resolved to a byte of the same workspace or marked broken."""
    links = list(byte.outgoing_links.all())
    if not links:
        return []
    workspace_id = byte.module.workspace_id
    paths = module_paths(workspace_id)
    module_by_path = {path: pk for pk, path in paths.items()}
    wanted: dict[str, tuple[int, str]] = {}
    for link in links:
        module_path_, slug = split_target(link.target)
        module_id = byte.module_id if not module_path_ else module_by_path.get(module_path_)
        if module_id is not None:
            wanted[link.target] = (module_id, slug)
    found: dict[tuple[int, str], Byte] = {}
    if wanted:
        query = Q()
        for module_id, slug in wanted.values():
            query |= Q(module_id=module_id, slug=slug)
        for target in Byte.objects.filter(query).select_related("module"):
            found[(target.module_id, target.slug)] = target
    return [
        ResolvedLink(
            target=link.target,
            label=link.label,
            byte=found.get(wanted[link.target]) if link.target in wanted else None,
        )
        for link in links
    ]


def backlinks(byte: Byte) -> QuerySet[Byte]:
    """Bytes whose content links to this one, by relative slug or by full path."""
    full_path = byte_path(byte)
    source_ids = Link.objects.filter(
        Q(target=byte.slug, source__module_id=byte.module_id)
        | Q(target=full_path, source__module__workspace_id=byte.module.workspace_id)
    ).values("source_id")
    return Byte.objects.filter(id__in=source_ids).exclude(pk=byte.pk).select_related("module")
