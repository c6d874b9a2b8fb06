// The workspace's module tree: open modules, and (editors) create, rename, move by drag or
// menu, and delete. The open module lists its bytes, live from its document.
import { useEffect, useState } from 'preact/hooks'

import { api } from '../api'
import type { ByteEntry } from '../collab'
import { byteUrl, moduleUrl, navigate } from '../router'
import { reportError, toast } from '../toast'
import { ancestorIds, findModule, flatten, siblingsOf, subtreeIds } from '../tree'
import type { ModuleNode } from '../types'
import { ChoiceDialog, ConfirmDialog, PromptDialog } from './Dialog'
import { Menu } from './Menu'

const DRAG_TYPE = 'application/x-kb-module'
const EXPANDED_KEY = 'kb:expanded'

type DialogState =
  | { kind: 'create'; parent: ModuleNode | null }
  | { kind: 'rename'; node: ModuleNode }
  | { kind: 'move'; node: ModuleNode }
  | { kind: 'delete'; node: ModuleNode }

interface TreeProps {
  workspace: number
  tree: ModuleNode[]
  canEdit: boolean
  currentModule: number | null
  currentByte: number | null
  bytes: ByteEntry[]
  onChanged: () => void
}

function loadExpanded(): Set<number> {
  try {
    return new Set(JSON.parse(localStorage.getItem(EXPANDED_KEY) ?? '[]') as number[])
  } catch {
    return new Set()
  }
}

export function Tree(props: TreeProps) {
  const [expanded, setExpanded] = useState(loadExpanded)
  const [dialog, setDialog] = useState<DialogState | null>(null)
  const [dropTarget, setDropTarget] = useState<number | 'root' | null>(null)

  // The open module's ancestors are always unfolded, so it can be seen in the tree.
  useEffect(() => {
    if (props.currentModule === null) return
    const chain = [...ancestorIds(props.tree, props.currentModule), props.currentModule]
    if (chain.some((id) => !expanded.has(id))) setExpanded(new Set([...expanded, ...chain]))
  }, [props.currentModule, props.tree])

  const toggle = (id: number): void => {
    const next = new Set(expanded)
    if (next.has(id)) next.delete(id)
    else next.add(id)
    setExpanded(next)
    localStorage.setItem(EXPANDED_KEY, JSON.stringify([...next]))
  }

  const move = async (node: ModuleNode, parent: number | null, position?: number): Promise<void> => {
    await api.updateModule(node.id, { parent, ...(position === undefined ? {} : { position }) })
    props.onChanged()
  }

  const dropOn = (target: number | null) => async (event: DragEvent): Promise<void> => {
    event.preventDefault()
    setDropTarget(null)
    const id = Number(event.dataTransfer?.getData(DRAG_TYPE))
    const node = findModule(props.tree, id)
    if (!node || node.parent === target) return
    if (target !== null && subtreeIds(node).has(target)) {
      toast('A module cannot move into itself.', 'error')
      return
    }
    try {
      await move(node, target)
      toast(`Moved “${node.name}”.`)
    } catch (error) {
      reportError(error)
    }
  }

  const dragOver = (target: number | 'root') => (event: DragEvent): void => {
    if (!event.dataTransfer?.types.includes(DRAG_TYPE)) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'move'
    setDropTarget(target)
  }

  const renderNode = (node: ModuleNode) => {
    const open = expanded.has(node.id)
    const current = node.id === props.currentModule
    const hasChildren = node.children.length > 0 || current
    const siblings = siblingsOf(props.tree, node)
    const index = siblings.findIndex((sibling) => sibling.id === node.id)
    return (
      <li key={node.id}>
        <div
          class={`tree-row${current && props.currentByte === null ? ' current' : ''}${dropTarget === node.id ? ' drop-target' : ''}`}
          draggable={props.canEdit}
          onDragStart={(event) => {
            event.dataTransfer?.setData(DRAG_TYPE, String(node.id))
            if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move'
          }}
          onDragOver={props.canEdit ? dragOver(node.id) : undefined}
          onDragLeave={() => setDropTarget(null)}
          onDrop={props.canEdit ? dropOn(node.id) : undefined}
        >
          <button
            type="button"
            class="twisty"
            aria-label={open ? `Collapse ${node.name}` : `Expand ${node.name}`}
            aria-expanded={open}
            style={{ visibility: hasChildren ? 'visible' : 'hidden' }}
            onClick={() => toggle(node.id)}
          >
            {open ? '▾' : '▸'}
          </button>
          <a
            href={moduleUrl(props.workspace, node.id)}
            class="tree-link"
            aria-current={current ? 'page' : undefined}
            title={node.path}
          >
            {node.name}
          </a>
          {props.canEdit && (
            <Menu
              label={`Actions for module ${node.name}`}
              items={[
                { label: 'New submodule…', onSelect: () => setDialog({ kind: 'create', parent: node }) },
                { label: 'Rename…', onSelect: () => setDialog({ kind: 'rename', node }) },
                { label: 'Move to…', onSelect: () => setDialog({ kind: 'move', node }) },
                ...(index > 0
                  ? [{ label: 'Move up', onSelect: () => move(node, node.parent, index - 1).catch(reportError) }]
                  : []),
                ...(index < siblings.length - 1
                  ? [{ label: 'Move down', onSelect: () => move(node, node.parent, index + 1).catch(reportError) }]
                  : []),
                { label: 'Delete…', danger: true, onSelect: () => setDialog({ kind: 'delete', node }) },
              ]}
            />
          )}
        </div>
        {open && hasChildren && (
          <ul>
            {node.children.map(renderNode)}
            {current &&
              props.bytes.map((byte) => (
                <li key={`b${byte.id}`}>
                  <a
                    href={byteUrl(props.workspace, node.id, byte.id)}
                    class={`tree-byte${byte.id === props.currentByte ? ' current' : ''}`}
                    aria-current={byte.id === props.currentByte ? 'page' : undefined}
                  >
                    {byte.title}
                  </a>
                </li>
              ))}
          </ul>
        )}
      </li>
    )
  }

  const moveOptions = (node: ModuleNode) => {
    const blocked = subtreeIds(node)
    return [
      { value: '', label: '(top level)', depth: 0 },
      ...flatten(props.tree).map(({ node: option, depth }) => ({
        value: String(option.id),
        label: option.name,
        depth: depth + 1,
        disabled: blocked.has(option.id),
      })),
    ]
  }

  return (
    <nav class="tree" aria-label="Modules">
      <div
        class={`tree-header${dropTarget === 'root' ? ' drop-target' : ''}`}
        onDragOver={props.canEdit ? dragOver('root') : undefined}
        onDragLeave={() => setDropTarget(null)}
        onDrop={props.canEdit ? dropOn(null) : undefined}
      >
        <h2>Modules</h2>
        {props.canEdit && (
          <button
            type="button"
            class="icon-button"
            aria-label="New module"
            title="New module"
            onClick={() => setDialog({ kind: 'create', parent: null })}
          >
            +
          </button>
        )}
      </div>
      {props.tree.length === 0 ? (
        <p class="muted small">No modules yet.</p>
      ) : (
        <ul class="tree-root">{props.tree.map(renderNode)}</ul>
      )}

      {dialog?.kind === 'create' && (
        <PromptDialog
          title={dialog.parent ? `New module in ${dialog.parent.name}` : 'New module'}
          label="Name"
          submitLabel="Create"
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            const module = await api.createModule({ workspace: props.workspace, name, parent: dialog.parent?.id ?? null })
            props.onChanged()
            navigate(moduleUrl(props.workspace, module.id))
          }}
        />
      )}
      {dialog?.kind === 'rename' && (
        <PromptDialog
          title={`Rename ${dialog.node.name}`}
          label="Name"
          initial={dialog.node.name}
          submitLabel="Rename"
          onClose={() => setDialog(null)}
          onSubmit={async (name) => {
            await api.updateModule(dialog.node.id, { name })
            props.onChanged()
          }}
        />
      )}
      {dialog?.kind === 'move' && (
        <ChoiceDialog
          title={`Move ${dialog.node.name}`}
          label="New place"
          options={moveOptions(dialog.node)}
          initial={dialog.node.parent === null ? '' : String(dialog.node.parent)}
          submitLabel="Move"
          onClose={() => setDialog(null)}
          onSubmit={(value) => move(dialog.node, value === '' ? null : Number(value))}
        />
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete ${dialog.node.name}?`}
          message={`This deletes “${dialog.node.name}”, its submodules and all of their bytes, for everyone. It cannot be undone.`}
          confirmLabel="Delete module"
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api.deleteModule(dialog.node.id)
            props.onChanged()
            if (props.currentModule !== null && subtreeIds(dialog.node).has(props.currentModule)) {
              navigate(`/w/${props.workspace}`)
            }
          }}
        />
      )}
    </nav>
  )
}
