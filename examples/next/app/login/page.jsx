'use client';
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { useAuthGate, useAuthReady, useIsAuthenticated } from 'authgate/next';

export default function LoginPage() {
  const gate = useAuthGate(); // null while the server renders the form: used in the handler only
  const ready = useAuthReady(); // false on the server and during hydration, like the HTML
  const signedIn = useIsAuthenticated();
  const router = useRouter();
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (signedIn) router.replace('/dashboard');
  }, [signedIn, router]);

  async function onSubmit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      // The browser's gate signs in; syncTokenCookie (app/gate.js) then sets the server's cookie.
      await gate.login({ username: form.get('username'), password: form.get('password') });
    } catch (e) {
      setError(e.code === 'LOGIN_FAILED' ? 'Wrong username or password.' : e.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main>
      <h1>Sign in</h1>
      <form onSubmit={onSubmit}>
        <label>
          Username <input name="username" autoComplete="username" defaultValue="demo" required />
        </label>
        <label>
          Password <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={busy || !ready}>
          Sign in
        </button>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}
