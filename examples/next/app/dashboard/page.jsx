'use client';
import { useEffect, useState } from 'react';
import { useRouter } from 'next/navigation';
import { useAuthGate, useAuthState } from 'authgate/next';
import { createSession, logout } from '../actions.js';

export default function DashboardPage() {
  const gate = useAuthGate();
  const state = useAuthState();
  const router = useRouter();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [session, setSession] = useState(null);
  const anonymous = state === 'anonymous';

  useEffect(() => {
    if (anonymous) {
      router.replace('/login');
      return undefined;
    }
    // The provider rendered this page only once the gate was ready: the bearer is there.
    const controller = new AbortController();
    const get = (path) => gate.fetch(path, { signal: controller.signal }).then((res) => res.json());
    Promise.all([get('/api/v1/auth/me'), get('/api/v1/documents')])
      .then(([me, docs]) => setData({ username: me.username, documents: docs.documents }))
      .catch((e) => e.name !== 'AbortError' && setError(e.message));
    return () => controller.abort();
  }, [anonymous, gate, router]);

  async function onCreateSession() {
    const result = await createSession(); // a server action: the bearer comes from the httpOnly cookie
    if (result.error) setError(result.error);
    else setSession(result.session);
  }

  async function onLogout() {
    await Promise.all([gate.logout(), logout()]);
    router.replace('/login');
  }

  if (anonymous) return null;
  return (
    <main>
      <h1>Dashboard</h1>
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
      <button onClick={onCreateSession}>Create a session (server action)</button>
      {session && (
        <p data-testid="session">
          Session {session.id} created for {session.owner}
        </p>
      )}
      <button onClick={onLogout}>Sign out</button>
    </main>
  );
}
