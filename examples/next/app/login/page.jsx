'use client';
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { useAuthGate, useAuthState } from 'authgate/next';
import { login } from '../actions.js';

export default function LoginPage() {
  const gate = useAuthGate();
  const state = useAuthState();
  const router = useRouter();
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const signedIn = state === 'authenticated' || state === 'refreshing';

  useEffect(() => {
    if (signedIn) router.replace('/dashboard');
  }, [signedIn, router]);

  async function onSubmit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    const result = await login(form.get('username'), form.get('password'));
    setBusy(false);
    if (result.error) return setError(result.error);
    gate.setTokens(result.tokens); // the browser's gate takes over from here
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
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}
