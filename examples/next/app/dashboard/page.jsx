'use client';
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { AuthReady, useAuthGate, useIsAuthenticated, useSession } from 'authgate/next';
import { createSession } from '../actions.js';
import { cookieSynced } from '../gate.js';

// The heading and the buttons render on the server; only the part that needs the gate waits.
export default function DashboardPage() {
  return (
    <main>
      <h1>Dashboard</h1>
      <AuthReady fallback={<p className="loading">Loading…</p>}>
        <SignedIn />
      </AuthReady>
    </main>
  );
}

function SignedIn() {
  const gate = useAuthGate();
  const signedIn = useIsAuthenticated(); // stays true while the gate refreshes
  const session = useSession();
  const router = useRouter();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);

  useEffect(() => {
    if (!signedIn) {
      router.replace('/login');
      return undefined;
    }
    const controller = new AbortController();
    const get = (path) => gate.fetch(path, { signal: controller.signal }).then((res) => res.json());
    Promise.all([get('/api/v1/auth/me'), get('/api/v1/documents')])
      .then(([me, docs]) => setData({ username: me.username, documents: docs.documents }))
      .catch((e) => e.name !== 'AbortError' && setError(e.message));
    return () => controller.abort();
  }, [signedIn, gate, router]);

  async function onCreateSession() {
    setError(null);
    await cookieSynced(); // the cookie holds the browser's current token (refreshed first if due)
    const result = await createSession(); // a server action: the bearer comes from the httpOnly cookie
    if (result.error) setError(result.error);
    else setCreated(result.session);
  }

  if (!signedIn) return null;
  return (
    <>
      {error && <p role="alert">{error}</p>}
      {!data && !error && <p>Loading documents…</p>}
      {data && (
        <>
          <p data-testid="user">Signed in as {data.username}</p>
          <ul data-testid="documents">
            {data.documents.map((d) => (
              <li key={d.id}>{d.title}</li>
            ))}
          </ul>
        </>
      )}
      {session?.expiresAt && (
        <p className="muted" data-testid="expiry">
          Token valid until {new Date(session.expiresAt).toLocaleTimeString()}; the gate renews it at{' '}
          {new Date(session.refreshAt).toLocaleTimeString()}.
        </p>
      )}
      <button onClick={onCreateSession}>Create a session (server action)</button>
      {created && (
        <p data-testid="session">
          Session {created.id} created for {created.owner}
        </p>
      )}
      <button onClick={() => gate.logout()}>Sign out</button>
    </>
  );
}
