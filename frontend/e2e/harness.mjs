/**
 * What the e2e scripts (run.mjs, modelPicker.mjs, browserImages.mjs, urlPrefix.mjs, a11y.mjs) share: paths, the Chromium flags, small
 * helpers and the test runner with its summary and exit code. Each script runs in its own
 * node process, so the runner's results are per script.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO = resolve(FRONTEND, '..')
// A relative path (PYTHON=../.venv/bin/python) is taken from where the command was typed, not from
// the backend's cwd (the repo root); a bare name (python3) is still looked up on PATH.
const pythonEnv = process.env.PYTHON
export const PYTHON = pythonEnv ? (pythonEnv.includes('/') ? resolve(pythonEnv) : pythonEnv) : join(REPO, '.venv', 'bin', 'python')
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
// vite's CLI, started with process.execPath so it runs on the same node as the tests.
export const VITE = join(FRONTEND, 'node_modules', 'vite', 'bin', 'vite.js')
// Headless, no GPU or sandbox (containers without a display); the rest stops Chromium's own
// network traffic (updates, sync, background requests), which the tests check never leaves the machine.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
]
export const HEADLESS = process.env.E2E_HEADED !== '1'

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function assert(cond, message) {
  if (!cond) throw new Error(message)
}

/** A port free right now: the OS picks it, so parallel runs do not collide. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

/** A child process whose last 200 output lines are kept, so a failure can show them (`child.logTail()`). */
export function spawnLogged(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = []
  const keep = (buf) => {
    for (const line of buf.toString().split('\n')) if (line.trim()) lines.push(line)
    if (lines.length > 200) lines.splice(0, lines.length - 200)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  child.logTail = () => lines.slice(-40).join('\n')
  child.name = name
  return child
}

/** SIGTERM, then SIGKILL if the child has not gone after 15 s, so a hung server cannot hold the run. */
export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000)
  await exited
  clearTimeout(timer)
}

/**
 * The app for the scripts that mock the backend with page.route (config.json included): E2E_DIST,
 * or dist/ as it is with E2E_SKIP_BUILD=1 (read only), else a fresh build in `tmp`.
 */
export function appBuild(tmp, log) {
  const reused = process.env.E2E_DIST || (process.env.E2E_SKIP_BUILD === '1' ? join(FRONTEND, 'dist') : undefined)
  if (reused) return reused
  const dist = join(tmp, 'dist')
  log('building the frontend')
  const r = spawnSync(process.execPath, [VITE, 'build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], { cwd: FRONTEND, stdio: 'inherit' })
  assert(r.status === 0, 'vite build failed')
  return dist
}

/** `vite preview` of `dist` on a free port, once it answers: its URL and the child to stop. */
export async function previewApp(dist, waitFor) {
  const port = await freePort()
  const web = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [VITE, 'preview', '--outDir', dist, '--port', String(port), '--strictPort', '--host', '127.0.0.1'], { cwd: FRONTEND, stdio: 'ignore' })
  await waitFor('vite preview', async () => (await fetch(web)).ok, 60000)
  return { web, child }
}

/**
 * Picks a file in the page's file input and waits until the app has either loaded it or refused it
 * (its 'loaded' / 'openFailed' events). Without this wait, a Start click can land on the image that
 * was shown before, and the previous file's error is still on screen until the new one loads.
 */
export async function chooseFile(page, path, timeout = 15000) {
  const outcomes = () =>
    page.evaluate(() => (window.__upscaleEvents ?? []).filter((e) => e.kind === 'loaded' || e.kind === 'openFailed').length)
  const before = await outcomes()
  await page.getByTestId('file-input').setInputFiles(path)
  await page.waitForFunction(
    (n) => (window.__upscaleEvents ?? []).filter((e) => e.kind === 'loaded' || e.kind === 'openFailed').length > n,
    before,
    { timeout },
  )
}

/** The small model the browser-mode scripts run in onnxruntime-web. */
export const BROWSER_MODEL = 'realesr-animevideov3'

/** Its ONNX file: in the build, else exported by the backend, else in frontend/dist. */
export function browserModelFile(dist) {
  const name = `${BROWSER_MODEL}.onnx`
  for (const p of [join(dist, 'models', name), join(REPO, 'backend', 'weights', 'onnx', name), join(FRONTEND, 'dist', 'models', name)])
    if (existsSync(p)) return p
  throw new Error(`no ${name} (run npm run models, or start the backend once to export it)`)
}

/**
 * A page of the app in browser mode with no backend: /api is refused, config.json and the model
 * are answered by page.route. With holdModel, the model's answer waits for releaseModel(), so a
 * first job stays at "Loading model" for as long as a test needs. Uncaught page errors are
 * collected in pageErrors (and logged with `log`).
 */
export async function browserModePage(browser, web, modelPath, { locale = 'en-US', viewport = { width: 1280, height: 860 }, holdModel = false, log = () => {} } = {}) {
  const context = await browser.newContext({ locale, viewport })
  const config = { apiUrl: '', mode: 'browser', modelsUrl: 'models', defaultModel: BROWSER_MODEL, browserTile: 32, browserOverlap: 8 }
  await context.route(/\/config\.json(\?.*)?$/, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(config) }))
  await context.route(/\/api\//, (route) => route.abort('connectionrefused'))
  const model = readFileSync(modelPath)
  let releaseModel = () => {}
  const gate = holdModel ? new Promise((r) => (releaseModel = r)) : null
  await context.route(/\/models\/[^/]+\.onnx$/, async (route) => {
    if (gate) await gate
    await route.fulfill({ status: 200, contentType: 'application/octet-stream', body: model })
  })
  const page = await context.newPage()
  const pageErrors = []
  page.on('pageerror', (err) => {
    pageErrors.push(err.message)
    log(`  [pageerror] ${err.message}`)
  })
  await page.goto(web)
  await page.locator('[data-testid=fallback-banner][data-reason=forced]').waitFor({ timeout: 15000 })
  return { context, page, pageErrors, releaseModel }
}

/**
 * The runner for one script.
 *   prefix: the log tag ('e2e', 'e2e-models'), so interleaved output says which script wrote it;
 *   pollMs: how often waitFor asks;
 *   logPass: also log '✓ name' as each test passes (the summary always lists it);
 *   onFailure(): called after a failed test is logged (run.mjs prints the backend's log there).
 */
export function harness({ prefix, pollMs = 500, logPass = false, onFailure = () => {} }) {
  const results = []
  let failures = 0

  const log = (...args) => console.log(`[${prefix} ${new Date().toISOString().slice(11, 19)}]`, ...args)

  /**
   * Polls fn until it returns something truthy. With a child (as start() in run.mjs makes: name
   * and logTail()), fails at once if it exits, and shows its log tail: a dead server explains a timeout.
   */
  async function waitFor(what, fn, timeoutMs, child) {
    const deadline = Date.now() + timeoutMs
    let last
    while (Date.now() < deadline) {
      if (child && child.exitCode !== null) throw new Error(`${child.name} exited (${child.exitCode}) while waiting for ${what}:\n${child.logTail()}`)
      try {
        const v = await fn()
        if (v) return v
      } catch (err) {
        last = err
      }
      await sleep(pollMs)
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}${child ? `\n${child.logTail()}` : ''}`)
  }

  /** Runs one test unless E2E_ONLY names others; a failure is recorded and the next test still runs. */
  async function test(name, fn) {
    if (process.env.E2E_ONLY && !name.includes(process.env.E2E_ONLY)) return
    const t0 = Date.now()
    log(`▶ ${name}`)
    try {
      await fn()
      results.push(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`)
      if (logPass) log(`✓ ${name}`)
    } catch (err) {
      failures++
      results.push(`✗ ${name}: ${err.message}`)
      log(`✗ ${name}\n${err.stack}`)
      await onFailure()
    }
  }

  /**
   * Runs main, counts an error outside a test as a failed setup, always cleans up, prints the
   * summary (and footer) and exits 1 if anything failed, so CI sees it.
   */
  function finish(main, { cleanup, footer = '' }) {
    return main()
      .catch((err) => {
        failures++
        results.push(`✗ setup: ${err.message}`)
        log(err.stack)
      })
      .finally(async () => {
        await cleanup()
        console.log(`\n${results.join('\n')}${footer}`)
        process.exit(failures ? 1 : 0)
      })
  }

  return { log, waitFor, test, finish }
}
