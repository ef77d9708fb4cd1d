// What a new user writes first, type-checked under the strictest settings and built by Vite.
import { AuthGateError, createAuthGate } from 'authgate';
import type { AuthGateOptions, AuthGateState } from 'authgate';

const PUBLIC_PATHS = ['/auth/login', '/auth/refresh', '/health'] as const;

interface Credentials {
  username: string;
  password: string;
}

const options: AuthGateOptions = {
  baseUrl: 'https://api.example',
  public: PUBLIC_PATHS,
  login: { url: '/auth/login' },
  refresh: { url: '/auth/refresh' },
  storage: 'session',
};

export const gate = createAuthGate(options);

const view = document.querySelector<HTMLParagraphElement>('#state');
gate.subscribe((state: AuthGateState) => {
  if (view) view.textContent = state;
});

export async function signIn(credentials: Credentials): Promise<void> {
  if ((await gate.ready()) === 'anonymous') await gate.login(credentials);
}

export async function loadDocuments(): Promise<unknown> {
  try {
    const res = await gate.fetch('/api/documents');
    return await res.json();
  } catch (e) {
    if (e instanceof AuthGateError) {
      const status: number | undefined = e.status;
      console.warn(e.code, status, e.message);
    }
    throw e;
  }
}
