// The rendered byte, following the live text. `[[links]]` become links to the bytes they
// name (same module: from the live index; other modules: from the links API), or are
// marked broken.
import { useEffect, useRef } from 'preact/hooks'
import type * as Y from 'yjs'

import type { ByteEntry } from '../collab'
import { isRelative } from '../links'
import { renderMarkdown } from '../markdown'
import { byteUrl } from '../router'
import type { Link } from '../types'

interface PreviewProps {
  text: Y.Text
  workspace: number
  module: number
  bytes: ByteEntry[]
  links: Map<string, Link>
}

type Resolution = { kind: 'byte'; href: string; title: string } | { kind: 'broken' } | { kind: 'pending' }

function resolve(target: string, props: PreviewProps): Resolution {
  if (isRelative(target)) {
    const byte = props.bytes.find((entry) => entry.slug === target)
    return byte ? { kind: 'byte', href: byteUrl(props.workspace, props.module, byte.id), title: byte.title } : { kind: 'broken' }
  }
  const link = props.links.get(target)
  if (!link) return { kind: 'pending' }
  if (link.broken || !link.byte) return { kind: 'broken' }
  return { kind: 'byte', href: byteUrl(props.workspace, link.byte.module, link.byte.id), title: `${link.byte.title} (${link.byte.path})` }
}

export function Preview(props: PreviewProps) {
  const host = useRef<HTMLDivElement>(null)
  const latest = useRef(props)
  latest.current = props

  const linkify = (): void => {
    host.current?.querySelectorAll<HTMLAnchorElement>('a[data-wikilink]').forEach((anchor) => {
      const target = anchor.dataset.wikilink ?? ''
      const resolution = resolve(target, latest.current)
      anchor.classList.toggle('broken', resolution.kind === 'broken')
      anchor.classList.toggle('pending', resolution.kind === 'pending')
      if (resolution.kind === 'byte') {
        anchor.setAttribute('href', resolution.href)
        anchor.title = resolution.title
        anchor.removeAttribute('aria-disabled')
      } else {
        anchor.removeAttribute('href')
        anchor.setAttribute('aria-disabled', 'true')
        anchor.title = resolution.kind === 'broken' ? `Broken link: no byte at “${target}”` : `Looking up “${target}”…`
      }
    })
  }

  useEffect(() => {
    let frame = 0
    const render = (): void => {
      frame = 0
      if (!host.current) return
      host.current.innerHTML = renderMarkdown(props.text.toString())
      linkify()
    }
    render()
    const schedule = (): void => {
      if (!frame) frame = requestAnimationFrame(render)
    }
    props.text.observe(schedule)
    return () => {
      props.text.unobserve(schedule)
      if (frame) cancelAnimationFrame(frame)
    }
  }, [props.text])

  // Resolutions change without the text changing (a byte renamed, links looked up).
  useEffect(linkify, [props.bytes, props.links, props.workspace, props.module])

  return <div class="preview markdown" ref={host} aria-live="off" />
}
