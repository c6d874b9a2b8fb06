import { useEffect, useRef } from 'preact/hooks'
import type * as Y from 'yjs'

import type { ModuleRoom } from '../collab'
import { createEditor, type EditorHandle } from '../editor'

export function Editor(props: { room: ModuleRoom; text: Y.Text; readOnly: boolean; onReady?: (handle: EditorHandle | null) => void }) {
  const host = useRef<HTMLDivElement>(null)
  useEffect(() => {
    if (!host.current) return
    const handle = createEditor({
      parent: host.current,
      text: props.text,
      awareness: props.room.provider.awareness,
      readOnly: props.readOnly,
      label: props.readOnly ? 'Byte content (markdown, read-only)' : 'Byte content (markdown)',
    })
    props.onReady?.(handle)
    return () => {
      props.onReady?.(null)
      handle.destroy()
      // The cursor belonged to this text; do not leave it behind for the others.
      props.room.provider.awareness.setLocalStateField('cursor', null)
    }
  }, [props.room, props.text, props.readOnly])
  return <div class="editor" ref={host} data-readonly={props.readOnly ? 'true' : 'false'} />
}
