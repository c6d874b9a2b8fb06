import { useState } from 'preact/hooks'

import { api, ApiError } from '../api'
import type { User } from '../types'

export function Login({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await api.session() // makes sure the CSRF cookie is set before the POST
      const { user } = await api.signIn(username.trim(), password)
      onSignedIn(user)
    } catch (caught) {
      const status = caught instanceof ApiError ? caught.status : 0
      setError(
        status === 401 || status === 400
          ? 'Wrong username or password.'
          : status === 429
            ? 'Too many attempts. Wait a minute and try again.'
            : caught instanceof Error
              ? caught.message
              : 'Sign-in failed.',
      )
      setPassword('')
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand brand-large" aria-hidden="true">kb</div>
        <h1 id="login-title">Sign in to kb</h1>
        <p class="muted">Your team's byte-size knowledge base.</p>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            autoFocus
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
