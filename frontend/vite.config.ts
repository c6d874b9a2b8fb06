import { defineConfig } from 'vite'

// Django serves the built files under /static/ (whitenoise) and the page shell itself
// (kb/frontend.py), so every asset URL must start with /static/.
export default defineConfig({
  base: '/static/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` beside `./dev run`: the API and the collab socket stay on Django's origin.
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/ws': { target: 'ws://127.0.0.1:8000', ws: true },
    },
  },
})
