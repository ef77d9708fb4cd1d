import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// No configuration for authgate's wasm: Vite emits it as an asset on its own.
export default defineConfig({
  plugins: [react()],
});
