// Markdown to safe HTML: marked (GFM) with a `[[wiki link]]` extension. Raw HTML in a byte is
// shown as text, never parsed as markup; DOMPurify then cleans what markdown itself can
// produce (e.g. a `[link](javascript:...)` loses its href), so nothing in a byte can run.
import DOMPurify from 'dompurify'
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked'

import { LINK_PATTERN, normalizeTarget } from './links'

interface WikiLinkToken extends Tokens.Generic {
  type: 'wikilink'
  target: string
  label: string
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)

const wikiLink: TokenizerAndRendererExtension = {
  name: 'wikilink',
  level: 'inline',
  start: (src: string) => {
    const at = src.indexOf('[[')
    return at < 0 ? undefined : at
  },
  tokenizer(src: string): WikiLinkToken | undefined {
    const match = LINK_PATTERN.exec(src)
    if (!match) return undefined
    const target = normalizeTarget(match[1])
    if (!target) return undefined
    return { type: 'wikilink', raw: match[0], target, label: (match[2] ?? '').trim() || match[1].trim() }
  },
  // Resolved to a real href after rendering (see Preview): the target decides where it goes.
  renderer: (token) => {
    const { target, label } = token as WikiLinkToken
    return `<a class="wikilink" data-wikilink="${escapeHtml(target)}">${escapeHtml(label)}</a>`
  },
}

const marked = new Marked({ gfm: true, breaks: false, async: false })
marked.use({
  extensions: [wikiLink],
  renderer: {
    // Escaped rather than sanitized: even parsing hostile markup (inertly, as a sanitizer
    // does) makes Chromium report the page's CSP blocking its handlers.
    html: ({ text, block }) => (block ? `<p>${escapeHtml(text)}</p>` : escapeHtml(text)),
  },
})

const purifier = DOMPurify(window)
purifier.addHook('afterSanitizeAttributes', (node) => {
  // Links to other sites open in a new tab and cannot reach back into this page.
  if (node.tagName === 'A' && /^https?:/i.test(node.getAttribute('href') ?? '')) {
    node.setAttribute('target', '_blank')
    node.setAttribute('rel', 'noopener noreferrer nofollow')
  }
})

export function renderMarkdown(source: string): string {
  const html = marked.parse(source) as string
  return purifier.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  })
}
