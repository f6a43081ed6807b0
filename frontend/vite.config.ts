/// <reference types="vitest/config" />
import { defineConfig, loadEnv } from 'vite'
import react from '@vitejs/plugin-react'
import { fileURLToPath } from 'node:url'

// One build deploys anywhere: VITE_API_URL / VITE_UPSCALE_MODE are only defaults, and a
// config.json beside index.html overrides them at run time (see src/config.ts).
// The guide keeps one `.env` at the repository root (`cp .env.example .env`); read it from there.
// Plain environment variables (e.g. Docker build args) work too.
const envDir = fileURLToPath(new URL('..', import.meta.url))

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, envDir, ''), ...process.env }
  // With VITE_API_URL empty the app calls /api on its own origin; in dev and preview we
  // proxy that to the backend, as nginx does in production.
  const proxyTarget = env.API_PROXY_TARGET || 'http://localhost:8000'
  const proxy = { '/api': { target: proxyTarget, changeOrigin: true } }
  return {
    base: './',
    plugins: [react()],
    envDir,
    envPrefix: 'VITE_',
    server: { port: 3332, strictPort: true, host: true, proxy },
    preview: { port: 3332, strictPort: true, host: true, proxy },
    build: {
      outDir: 'dist',
      // onnxruntime-web's wasm is ~28 MB; it is fetched only in browser mode.
      chunkSizeWarningLimit: 1024,
      assetsInlineLimit: (file: string) => (file.endsWith('.wasm') || file.endsWith('.onnx') ? false : undefined),
    },
    worker: { format: 'es' },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    test: {
      include: ['tests/**/*.test.ts'],
      environment: 'node',
    },
  }
})
