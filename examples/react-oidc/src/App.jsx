import { Navigate, Route, Routes, useNavigate } from 'react-router';
import { AuthCallback, RequireAuth } from 'authgate/react';
import Home from './Home.jsx';
import Items from './Items.jsx';

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
  const navigate = useNavigate();
  // /items needs a session (a refresh keeps it): without one, at start or once it ends, the app
  // goes home to the sign-in button. <RequireAuth loginWithRedirect> would go to the provider instead.
  const home = () => navigate('/', { replace: true });
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/callback" element={<Callback />} />
      <Route
        path="/items"
        element={
          <RequireAuth onAnonymous={home}>
            <Items />
          </RequireAuth>
        }
      />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
