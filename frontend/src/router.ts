// Client-side routes. Django serves the page shell for every one of these paths (kb/frontend.py).
import { useEffect, useState } from 'preact/hooks'

export type Route =
  | { name: 'home' }
  | { name: 'workspace'; workspace: number }
  | { name: 'module'; workspace: number; module: number; byte: number | null }
  | { name: 'inbox' }
  | { name: 'notFound' }

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'home' }
  if (pathname === '/inbox' || pathname === '/inbox/') return { name: 'inbox' }
  const match = /^\/w\/(\d+)(?:\/m\/(\d+)(?:\/b\/(\d+))?)?\/?$/.exec(pathname)
  if (!match) return { name: 'notFound' }
  const workspace = Number(match[1])
  if (!match[2]) return { name: 'workspace', workspace }
  return { name: 'module', workspace, module: Number(match[2]), byte: match[3] ? Number(match[3]) : null }
}

export const workspaceUrl = (workspace: number): string => `/w/${workspace}`
export const moduleUrl = (workspace: number, module: number): string => `/w/${workspace}/m/${module}`
export const byteUrl = (workspace: number, module: number, byte: number): string =>
  `/w/${workspace}/m/${module}/b/${byte}`

const listeners = new Set<() => void>()

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (url === location.pathname + location.search) return
  if (options.replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  listeners.forEach((listener) => listener())
}

window.addEventListener('popstate', () => listeners.forEach((listener) => listener()))

/** The current route, re-rendering on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname))
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.pathname))
    listeners.add(update)
    return () => {
      listeners.delete(update)
    }
  }, [])
  return route
}

/** Same-origin left-clicks on links navigate inside the app instead of reloading the page. */
export function interceptLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const anchor = (event.target as Element | null)?.closest?.('a')
  if (!anchor || anchor.target === '_blank' || anchor.hasAttribute('download')) return
  const href = anchor.getAttribute('href')
  if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/') || href.startsWith('/admin/')) return
  event.preventDefault()
  navigate(href)
}
