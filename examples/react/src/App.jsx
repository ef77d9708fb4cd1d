import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useIsAuthenticated } from 'authgate/react';
import Dashboard from './Dashboard.jsx';
import Login from './Login.jsx';

function RequireAuth({ children }) {
  const signedIn = useIsAuthenticated(); // stays true while the gate refreshes
  const location = useLocation();
  if (!signedIn) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return children;
}

export default function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route
        path="/dashboard"
        element={
          <RequireAuth>
            <Dashboard />
          </RequireAuth>
        }
      />
      <Route path="*" element={<Navigate to="/dashboard" replace />} />
    </Routes>
  );
}
