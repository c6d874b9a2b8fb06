// `[[links]]` as the server reads them (bytes_app/links.py): `[[slug]]` in the same module,
// `[[module/path/slug]]` from the workspace root, `[[target|label]]` with a label.

export const LINK_PATTERN = /^\[\[([^[\]|\n]{1,500}?)(?:\|([^[\]\n]{0,200}))?\]\]/

/** Lower-case, trimmed, slash-separated path with empty segments dropped (as the server does). */
export function normalizeTarget(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .split('/')
    .map((part) => part.trim())
    .filter(Boolean)
    .join('/')
}

export const isRelative = (target: string): boolean => !target.includes('/')
