import { defineStore } from 'pinia';
import { useAuthGate } from 'authgate/vue';

// A thin wrapper: the gate owns the tokens, the state and the refresh.
export const useAuthStore = defineStore('auth', () => {
  const { gate, state, session, isAuthenticated } = useAuthGate(); // isAuthenticated stays true while refreshing

  /** @param {string} username @param {string} password */
  async function login(username, password) {
    await gate.login({ username, password });
  }
  async function logout() {
    await gate.logout();
  }
  return { state, session, isAuthenticated, login, logout };
});
