import { createRouter, createWebHistory } from 'vue-router';
import { requireAuth } from 'authgate/vue';
import { gate } from './gate.js';
import Dashboard from './views/Dashboard.vue';
import Login from './views/Login.vue';

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', name: 'login', component: Login },
    { path: '/dashboard', name: 'dashboard', component: Dashboard, meta: { requiresAuth: true } },
    { path: '/:rest(.*)*', redirect: '/dashboard' },
  ],
});

// Protected routes render only once gate.ready() has settled the auto-login (no dashboard fetch racing it);
// with the router, a logout (here or in another tab) also moves the user off a protected page.
router.beforeEach(
  requireAuth(gate, { loginRoute: { name: 'login' }, router, protect: (to) => to.meta.requiresAuth === true }),
);
