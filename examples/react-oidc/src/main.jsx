import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { AuthGateProvider, AuthReady } from 'authgate/react';
import { gate } from './gate.js';
import App from './App.jsx';
import './style.css';

// StrictMode runs the callback page's effect twice: the gate still exchanges the code once.
createRoot(document.getElementById('root')).render(
  <StrictMode>
    <AuthGateProvider gate={gate}>
      {/* Nothing below renders, and so nothing fetches, before the auth state is known. */}
      <AuthReady fallback={<p className="loading">Loading…</p>}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </AuthReady>
    </AuthGateProvider>
  </StrictMode>,
);
