import { useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { useAuthGate, useIsAuthenticated } from 'authgate/react';

export default function Login() {
  const gate = useAuthGate();
  const signedIn = useIsAuthenticated();
  const navigate = useNavigate();
  const from = useLocation().state?.from ?? '/dashboard';
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  if (signedIn) return <Navigate to={from} replace />;

  async function onSubmit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await gate.login({ username: form.get('username'), password: form.get('password') });
      navigate(from, { replace: true });
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
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}
