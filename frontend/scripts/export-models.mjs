#!/usr/bin/env node
// Export ONNX models into public/models/ so that a static build can run in the browser with no
// backend at all (the fallback when the backend is down). Uses the backend's exporter
// (backend/models/onnx_export.py) through the repo's Python environment.
//
//   npm run models                          # realesr-animevideov3 (2.5 MB)
//   npm run models -- RealESRGAN_x4plus     # 67 MB: think twice before shipping it statically
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const REPO = resolve(FRONTEND, '..')
const PYTHON = process.env.PYTHON || join(REPO, '.venv', 'bin', 'python')
const names = process.argv.slice(2).length ? process.argv.slice(2) : ['realesr-animevideov3']
const outDir = join(FRONTEND, 'public', 'models')

if (!existsSync(PYTHON)) {
  console.error(`python not found at ${PYTHON}; set PYTHON`)
  process.exit(1)
}
mkdirSync(outDir, { recursive: true })
const script = `
import sys
from backend.models.manager import ModelManager
from backend.models.onnx_export import export_onnx
from backend.settings import Settings
manager = ModelManager(Settings(device="cpu", warmup=False))
for name in sys.argv[1:]:
    print(export_onnx(manager, name))
`
const r = spawnSync(PYTHON, ['-c', script, ...names], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
if (r.status !== 0) process.exit(r.status ?? 1)
const paths = r.stdout.trim().split('\n').filter(Boolean)
paths.forEach((p, i) => {
  const target = join(outDir, `${names[i]}.onnx`)
  copyFileSync(p.trim(), target)
  console.log(`✓ ${target}`)
})
