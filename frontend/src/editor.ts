// The byte editor: CodeMirror 6 with markdown highlighting, bound to the byte's shared text.
// Undo/redo go through a Y.UndoManager that tracks only this editor's own changes, so they
// never take back what a teammate typed (nor a restore that arrived over the wire).
import { defaultKeymap } from '@codemirror/commands'
import { markdown, markdownLanguage } from '@codemirror/lang-markdown'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { EditorState, StateEffect, StateField } from '@codemirror/state'
import {
  Decoration,
  type DecorationSet,
  drawSelection,
  EditorView,
  highlightActiveLine,
  keymap,
  placeholder,
} from '@codemirror/view'
import { tags } from '@lezer/highlight'
import type { WebsocketProvider } from 'y-websocket'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '15px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.6' },
  '.cm-content': { padding: '12px 0', caretColor: 'var(--accent)' },
  '.cm-line': { padding: '0 14px' },
  '&.cm-focused': { outline: 'none' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-selectionBackground, &.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground': {
    backgroundColor: 'var(--selection)',
  },
  // Teammates' names stay visible next to their carets (not only on hover).
  '.cm-passage': { backgroundColor: 'var(--passage)', borderBottom: '2px solid var(--passage-line)' },
  '.cm-passage-active': { backgroundColor: 'var(--passage-active)' },
  '.cm-ySelectionInfo': { opacity: '1', fontFamily: 'var(--sans)', borderRadius: '3px 3px 3px 0', top: '-1.35em', padding: '0 4px' },
})

// Markdown colours from the page's palette (CSS variables), so they read in dark mode too;
// CodeMirror's default style is tuned for light backgrounds only.
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading, fontWeight: '700', color: 'var(--text)' },
  { tag: tags.heading1, fontSize: '1.15em' },
  { tag: tags.strong, fontWeight: '700' },
  { tag: tags.emphasis, fontStyle: 'italic' },
  { tag: tags.strikethrough, textDecoration: 'line-through' },
  { tag: [tags.link, tags.url], color: 'var(--accent)' },
  { tag: tags.monospace, color: 'var(--code)' },
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator, tags.labelName], color: 'var(--muted)' },
  { tag: tags.quote, color: 'var(--muted)', fontStyle: 'italic' },
])

/** Passages that discussion threads point at, drawn under the text. */
export interface Passage {
  from: number
  to: number
  thread: number
  active: boolean
}

const setPassages = StateEffect.define<Passage[]>()

const passages = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, transaction) {
    let next = decorations.map(transaction.changes)
    for (const effect of transaction.effects) {
      if (!effect.is(setPassages)) continue
      const length = transaction.state.doc.length
      const ranges = effect.value
        .filter((passage) => passage.from < passage.to && passage.to <= length)
        .sort((a, b) => a.from - b.from || a.to - b.to)
        .map((passage) =>
          Decoration.mark({
            class: passage.active ? 'cm-passage cm-passage-active' : 'cm-passage',
            attributes: { 'data-thread': String(passage.thread) },
          }).range(passage.from, passage.to),
        )
      next = Decoration.set(ranges, true)
    }
    return next
  },
  provide: (field) => EditorView.decorations.from(field),
})

/** Highlight these passages (replacing the ones drawn before). */
export function showPassages(view: EditorView, list: Passage[]): void {
  view.dispatch({ effects: setPassages.of(list) })
}

export interface EditorHandle {
  view: EditorView
  undoManager: Y.UndoManager
  destroy(): void
}

export function createEditor(options: {
  parent: HTMLElement
  text: Y.Text
  awareness: WebsocketProvider['awareness']
  readOnly: boolean
  label: string
}): EditorHandle {
  const undoManager = new Y.UndoManager(options.text)
  const view = new EditorView({
    parent: options.parent,
    state: EditorState.create({
      doc: options.text.toString(),
      extensions: [
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        drawSelection(),
        highlightActiveLine(),
        EditorView.lineWrapping,
        markdown({ base: markdownLanguage }),
        syntaxHighlighting(markdownStyle),
        placeholder(options.readOnly ? 'This byte is empty.' : 'Write markdown… [[slug]] links another byte.'),
        EditorState.readOnly.of(options.readOnly),
        EditorView.editable.of(!options.readOnly),
        EditorView.contentAttributes.of({ 'aria-label': options.label, 'aria-multiline': 'true' }),
        yCollab(options.text, options.awareness, { undoManager }),
        passages,
        theme,
      ],
    }),
  })
  return {
    view,
    undoManager,
    destroy() {
      view.destroy()
      undoManager.destroy()
    },
  }
}
