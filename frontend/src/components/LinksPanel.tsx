// Bytes that link here (backlinks), and this byte's broken links.
import type { ByteRef, Link } from '../types'
import { byteUrl } from '../router'

export function LinksPanel(props: { workspace: number; backlinks: ByteRef[] | null; links: Link[] | null }) {
  const broken = (props.links ?? []).filter((link) => link.broken)
  return (
    <section class="links-panel" aria-label="Links">
      <h2>Linked from</h2>
      {props.backlinks === null ? (
        <p class="muted small">Loading…</p>
      ) : props.backlinks.length === 0 ? (
        <p class="muted small">No byte links here yet.</p>
      ) : (
        <ul class="backlinks">
          {props.backlinks.map((ref) => (
            <li key={ref.id}>
              <a href={byteUrl(props.workspace, ref.module, ref.id)}>{ref.title}</a>
              <span class="result-path">{ref.path}</span>
            </li>
          ))}
        </ul>
      )}
      {broken.length > 0 && (
        <>
          <h2>Broken links</h2>
          <ul class="broken-links">
            {broken.map((link) => (
              <li key={link.target}>
                <code>[[{link.target}]]</code> <span class="muted small">points at no byte</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  )
}
