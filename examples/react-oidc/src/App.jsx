import { Navigate, Route, Routes, useNavigate } from 'react-router';
import { AuthCallback, useIsAuthenticated } from 'authgate/react';
import Home from './Home.jsx';
import Items from './Items.jsx';

function RequireAuth({ children }) {
  const signedIn = useIsAuthenticated(); // stays true while the gate refreshes
  if (!signedIn) return <Navigate to="/" replace />;
  return children;
}

// The redirectUri: the gate checks state, exchanges the code (once, StrictMode or not), then
// the app goes where loginWithRedirect's returnTo said.
function Callback() {
  const navigate = useNavigate();
  return (
    <AuthCallback
      onDone={(returnTo) => navigate(returnTo ?? '/items', { replace: true })}
      fallback={<p>Signing in…</p>}
      error={(e) => (
        <main>
          <p role="alert">Sign-in failed: {e?.message ?? String(e)}</p>
          <a href="/">Back</a>
        </main>
      )}
    />
  );
}

export default function App() {
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/callback" element={<Callback />} />
      <Route
        path="/items"
        element={
          <RequireAuth>
            <Items />
          </RequireAuth>
        }
      />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
