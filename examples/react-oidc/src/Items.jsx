import { useEffect, useState } from 'react';
import { useAuthGate, useSession } from 'authgate/react';

export default function Items() {
  const gate = useAuthGate();
  const session = useSession();
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const [leaving, setLeaving] = useState(false);

  useEffect(() => {
    // gate.fetch adds the provider's access token, refreshes once when needed and replays once after a 401.
    const controller = new AbortController();
    gate
      .fetch('/api/items', { signal: controller.signal })
      .then((res) => {
        if (!res.ok) throw new Error(`GET /api/items answered ${res.status}`);
        return res.json();
      })
      .then((body) => setItems(body.items))
      .catch((e) => e.name !== 'AbortError' && setError(e.message));
    return () => controller.abort();
  }, [gate]);

  async function signOut() {
    setLeaving(true);
    // Revokes the refresh token at the provider, forgets the tokens, then ends the provider's
    // session (its confirmation page), which sends the browser back to /.
    await gate.logout();
  }

  return (
    <main>
      <h1>Items</h1>
      <p data-testid="user">Signed in as {String(session?.claims?.sub ?? '')}</p>
      {error && <p role="alert">{error}</p>}
      {!items && !error && <p>Loading items…</p>}
      {items && (
        <ul data-testid="items">
          {items.map((item) => (
            <li key={item.id}>{item.title}</li>
          ))}
        </ul>
      )}
      <button onClick={signOut} disabled={leaving}>
        Sign out
      </button>
    </main>
  );
}
