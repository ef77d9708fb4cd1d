// Type-checked (tsc --noEmit), never run: authgate/vue compiles as documented, with Pinia and vue-router.
import { computed, createApp, type Ref } from 'vue';
import { createPinia, defineStore } from 'pinia';
import { createRouter, createMemoryHistory, type NavigationGuard } from 'vue-router';
import { createAuthGate, type AuthGateState, type Session } from 'authgate';
import { AUTH_GATE_KEY, authGate, requireAuth, useAuthGate, useRedirectCallback } from 'authgate/vue';

const gate = createAuthGate({ baseUrl: 'http://127.0.0.1:8000', login: { url: '/api/v1/auth/login' } });
const app = createApp({});
app.use(createPinia()).use(authGate(gate));
const router = createRouter({
  history: createMemoryHistory(),
  routes: [
    { path: '/login', name: 'login', component: {} },
    { path: '/dashboard', component: {}, meta: { requiresAuth: true }, beforeEnter: requireAuth(gate) },
  ],
});
router.beforeEach(requireAuth(gate, { loginRoute: '/login', protect: (to) => to.meta.requiresAuth === true }));
router.beforeEach(requireAuth(gate, { loginRoute: { name: 'login' }, redirectParam: 'next' }));
router.beforeEach(requireAuth(gate, { loginRoute: '/signed-out', router, loginWithRedirect: { params: { prompt: 'login' } } }));
const callback = useRedirectCallback({ gate, onDone: (to: string | null) => void router.replace(to ?? '/') });
const callbackStatus: 'pending' | 'done' | 'error' = callback.status.value;
void callbackStatus;
const guard: NavigationGuard = requireAuth(gate);
void guard;
void AUTH_GATE_KEY;

export const useAuth = defineStore('auth', () => {
  const { gate: g, state, session, isAuthenticated } = useAuthGate();
  const current: AuthGateState = state.value;
  const now: Session | null = session.value;
  const until = computed(() => session.value?.expiresAt ?? null);
  void [current, now, until];
  const login = (username: string, password: string): Promise<void> => g.login({ username, password });
  return { state, isAuthenticated, login, logout: () => g.logout() };
});

function misuse(): void {
  const { state } = useAuthGate(gate);
  // @ts-expect-error the state is read-only: only the gate changes it
  state.value = 'authenticated';
  const writable: Ref<AuthGateState> = state as Ref<AuthGateState>;
  void writable;
  const { isAuthenticated } = useAuthGate(gate);
  // @ts-expect-error isAuthenticated follows the session: it cannot be set
  isAuthenticated.value = true;
  // @ts-expect-error a wrong option name (loginPath for loginRoute)
  requireAuth(gate, { loginPath: '/login' });
  // @ts-expect-error a login route is a path or a location, not a number
  requireAuth(gate, { loginRoute: 42 });
  // @ts-expect-error the plugin takes a gate, not options
  authGate({ baseUrl: '/' });
  // @ts-expect-error requireAuth needs the gate
  requireAuth({ loginRoute: '/login' });
}
void misuse;
