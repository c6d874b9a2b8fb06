// Shapes of kb's REST API (see /api/schema/). Only the fields the wiki reads.

export type Role = 'viewer' | 'editor' | 'owner'

export interface User {
  id: number
  username: string
  first_name: string
  last_name: string
}

export interface Workspace {
  id: number
  name: string
  role: Role
}

export interface ModuleNode {
  id: number
  name: string
  slug: string
  path: string
  description: string
  position: number
  parent: number | null
  children: ModuleNode[]
}

export interface Module {
  id: number
  workspace: number
  parent: number | null
  name: string
  slug: string
  path: string
  description: string
  position: number
  created_at: string
}

export interface Byte {
  id: number
  workspace: number
  module: number
  title: string
  slug: string
  path: string
  content: string
  tags: string[]
  version: number
  created_by: string | null
  updated_by: string | null
  created_at: string
  updated_at: string
}

export interface SearchResult extends Byte {
  rank: number
}

export interface ByteRef {
  id: number
  module: number
  title: string
  slug: string
  path: string
}

export interface Link {
  target: string
  label: string
  broken: boolean
  byte: ByteRef | null
}

export interface Revision {
  id: number
  byte: number
  kind: 'create' | 'edit' | 'restore'
  version: number
  title: string
  content: string
  author: string | null
  restored_from: number | null
  created_at: string
  updated_at: string
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}

export const canWrite = (role: Role | undefined): boolean => role === 'editor' || role === 'owner'
