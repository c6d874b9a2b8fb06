// Pure helpers over the workspace's module tree.
import type { ModuleNode } from './types'

export interface FlatModule {
  node: ModuleNode
  depth: number
}

export function flatten(nodes: ModuleNode[], depth = 0, out: FlatModule[] = []): FlatModule[] {
  for (const node of nodes) {
    out.push({ node, depth })
    flatten(node.children, depth + 1, out)
  }
  return out
}

export function findModule(nodes: ModuleNode[], id: number): ModuleNode | null {
  for (const node of nodes) {
    if (node.id === id) return node
    const found = findModule(node.children, id)
    if (found) return found
  }
  return null
}

/** The module with `id` and everything below it. */
export function subtreeIds(node: ModuleNode): Set<number> {
  const ids = new Set<number>([node.id])
  node.children.forEach((child) => subtreeIds(child).forEach((id) => ids.add(id)))
  return ids
}

/** Ids of the modules above `id`, root first. */
export function ancestorIds(nodes: ModuleNode[], id: number): number[] {
  const byId = new Map(flatten(nodes).map(({ node }) => [node.id, node]))
  const chain: number[] = []
  let current = byId.get(id)?.parent ?? null
  while (current !== null) {
    chain.unshift(current)
    current = byId.get(current)?.parent ?? null
  }
  return chain
}

export function siblingsOf(nodes: ModuleNode[], node: ModuleNode): ModuleNode[] {
  if (node.parent === null) return nodes
  return findModule(nodes, node.parent)?.children ?? []
}
