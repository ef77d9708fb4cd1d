import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// No proxy and no configuration for authgate's wasm: the gate talks to the API's origin itself.
export default defineConfig({
  plugins: [vue()],
});
