#!/usr/bin/env node
// Checks the production build: onnxruntime-web's wasm is bundled, and nothing points at a CDN.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = fileURLToPath(new URL('../dist/', import.meta.url))
const CDN = /\b(cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|esm\.sh|skypack\.dev|googleapis\.com|gstatic\.com|huggingface\.co|githubusercontent\.com|github\.com\/[^"'\s]*\/releases)/

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

let files
try {
  files = walk(dist)
} catch {
  console.error(`no build at ${dist}; run npm run build first`)
  process.exit(1)
}
const problems = []
const wasm = files.filter((f) => f.endsWith('.wasm'))
if (!wasm.length) problems.push('no .wasm file in the build: onnxruntime-web would need a CDN')
for (const f of files.filter((f) => /\.(js|mjs|html|css|json)$/.test(f))) {
  const m = readFileSync(f, 'utf8').match(CDN)
  if (m) problems.push(`${relative(dist, f)} references ${m[0]}`)
}
const workerJs = files.filter((f) => /worker-.*\.js$/.test(f))
for (const f of workerJs) {
  const text = readFileSync(f, 'utf8')
  for (const w of wasm) {
    const name = w.split('/').pop()
    if (!text.includes(name)) problems.push(`${relative(dist, f)} does not reference bundled ${name}`)
  }
}
if (problems.length) {
  for (const p of problems) console.error(`✗ ${p}`)
  process.exit(1)
}
console.log(`✓ dist OK: ${wasm.map((w) => relative(dist, w)).join(', ')} bundled; no CDN references in ${files.length} files`)
