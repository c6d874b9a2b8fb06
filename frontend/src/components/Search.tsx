// Full-text search over the workspace (GET /api/bytes/?q=). `/` or Ctrl/Cmd+K focuses it;
// arrows pick a result, Enter opens it, Escape leaves.
import { useEffect, useRef, useState } from 'preact/hooks'

import { api } from '../api'
import { isTyping, useShortcut } from '../hooks'
import { byteUrl, navigate } from '../router'
import type { SearchResult } from '../types'

function snippet(content: string, query: string): string {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean)
  const text = content.replace(/\s+/g, ' ')
  const lower = text.toLowerCase()
  const at = Math.max(0, Math.min(...words.map((word) => lower.indexOf(word)).filter((i) => i >= 0), text.length))
  const start = Math.max(0, at - 30)
  return (start > 0 ? '…' : '') + text.slice(start, start + 110) + (start + 110 < text.length ? '…' : '')
}

export function Search({ workspace }: { workspace: number }) {
  const input = useRef<HTMLInputElement>(null)
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<SearchResult[] | null>(null)
  const [active, setActive] = useState(0)
  const [error, setError] = useState<string | null>(null)

  useShortcut((event) => {
    const modK = (event.metaKey || event.ctrlKey) && event.key.toLowerCase() === 'k'
    if (modK || (event.key === '/' && !isTyping(event))) {
      event.preventDefault()
      input.current?.focus()
      input.current?.select()
    }
  })

  useEffect(() => {
    const q = query.trim()
    if (!q) {
      setResults(null)
      return
    }
    let stale = false
    const timer = setTimeout(() => {
      api.search(q, workspace).then(
        (page) => {
          if (stale) return
          setResults(page.results)
          setActive(0)
          setError(null)
        },
        (caught: Error) => !stale && setError(caught.message),
      )
    }, 150)
    return () => {
      stale = true
      clearTimeout(timer)
    }
  }, [query, workspace])

  const open = (result: SearchResult): void => {
    navigate(byteUrl(workspace, result.module, result.id))
    setQuery('')
    input.current?.blur()
  }

  const onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape') {
      setQuery('')
      input.current?.blur()
    } else if (results && results.length) {
      if (event.key === 'ArrowDown') {
        event.preventDefault()
        setActive((active + 1) % results.length)
      } else if (event.key === 'ArrowUp') {
        event.preventDefault()
        setActive((active - 1 + results.length) % results.length)
      } else if (event.key === 'Enter') {
        event.preventDefault()
        open(results[active])
      }
    }
  }

  const showResults = query.trim() !== '' && (results !== null || error !== null)
  return (
    <div class="search" role="search">
      <label class="visually-hidden" for="search-input">
        Search bytes
      </label>
      <input
        id="search-input"
        ref={input}
        type="search"
        placeholder="Search…  ( / )"
        autocomplete="off"
        role="combobox"
        aria-expanded={showResults}
        aria-controls="search-results"
        aria-activedescendant={showResults && results?.length ? `search-result-${active}` : undefined}
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
        onKeyDown={onKeyDown}
      />
      {showResults && (
        <ul id="search-results" class="search-results" role="listbox" aria-label="Search results">
          {error && <li class="form-error">{error}</li>}
          {results?.length === 0 && <li class="muted">No byte matches “{query.trim()}”.</li>}
          {results?.map((result, i) => (
            <li
              key={result.id}
              id={`search-result-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : ''}
              onMouseDown={(event) => {
                event.preventDefault() // keep focus in the box until we navigate
                open(result)
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span class="result-title">{result.title}</span>
              <span class="result-path">{result.path}</span>
              <span class="result-snippet">{snippet(result.content, query)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
