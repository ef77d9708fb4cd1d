import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { authGate } from 'authgate/vue';
import App from './App.vue';
import { gate } from './gate.js';
import { router } from './router.js';
import './style.css';

createApp(App).use(createPinia()).use(authGate(gate)).use(router).mount('#app');
