import { Dialog } from './Dialog'

const SHORTCUTS: [string, string][] = [
  ['/  or  Ctrl K', 'Search'],
  ['n', 'New byte in this module'],
  ['e', 'Focus the editor'],
  ['h', 'Show or hide history'],
  ['Ctrl Z  /  Ctrl Y', 'Undo / redo your own edits'],
  ['Esc', 'Close a dialog or the search'],
  ['?', 'This help'],
]

export function Help({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose}>
      <dl class="shortcuts">
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <p class="muted small">
        Link bytes with <code>[[slug]]</code> (same module) or <code>[[module/path/slug]]</code>.
      </p>
      <div class="dialog-actions">
        <button type="button" class="primary" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </Dialog>
  )
}
