import { useState } from 'react';
import { Link } from 'react-router';
import { useAuthGate, useSession } from 'authgate/react';

export default function Home() {
  const gate = useAuthGate();
  const session = useSession();
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function signIn() {
    setBusy(true);
    setError(null);
    try {
      // Sends the page to the provider; the callback page brings it back to /items.
      await gate.loginWithRedirect({ returnTo: '/items' });
    } catch (e) {
      setError(e.message);
      setBusy(false);
    }
  }

  return (
    <main>
      <h1>authgate · OpenID provider</h1>
      {session ? (
        <p>
          Signed in as {String(session.claims?.sub ?? 'someone')}. <Link to="/items">Your items</Link>
        </p>
      ) : (
        <button onClick={signIn} disabled={busy}>
          Sign in with the OpenID provider
        </button>
      )}
      {error && <p role="alert">{error}</p>}
    </main>
  );
}
