import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { useAuthGate } from 'authgate/react';

export default function Dashboard() {
  const gate = useAuthGate();
  const navigate = useNavigate();
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    // gate.fetch adds the bearer (or refuses), refreshes once when needed and replays once after a 401.
    const controller = new AbortController();
    const get = (path) => gate.fetch(path, { signal: controller.signal }).then((res) => res.json());
    Promise.all([get('/api/v1/auth/me'), get('/api/v1/documents')])
      .then(([me, docs]) => setData({ username: me.username, documents: docs.documents }))
      .catch((e) => e.name !== 'AbortError' && setError(e.message));
    return () => controller.abort();
  }, [gate]);

  async function logout() {
    await gate.logout();
    navigate('/login', { replace: true });
  }

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
      <button onClick={logout}>Sign out</button>
    </main>
  );
}
