#!/usr/bin/env node
/**
 * The web UI and the API under one URL prefix, as the README's "The web UI and the API under one
 * prefix" recipe serves them: a real nginx runs the README's nginx block (so the two cannot drift),
 * serving the built app at /upscaler/ and proxying /upscaler/api/, /upscaler/docs, ... to a real
 * backend started with ROOT_PATH=/upscaler. In headless Chromium the page at /upscaler/ upscales a
 * real photo in server mode; every request it makes stays under /upscaler/ (the API under
 * /upscaler/api/), and /upscaler/docs renders with its schema.
 *
 * nginx: NGINX, else on PATH or in /usr/sbin (bash scripts/setup.sh --test installs it); without
 * it the script fails, it does not skip. Env as in the other scripts: PYTHON, CHROMIUM,
 * E2E_DIST / E2E_SKIP_BUILD=1 (reuse a build), E2E_MODELS_DIR, E2E_ONLY, E2E_HEADED=1.
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { chromium } from 'playwright-core'
import { appBuild, assert, chooseFile, CHROMIUM, CHROMIUM_ARGS, freePort, harness, HEADLESS, PYTHON, REPO, spawnLogged, stop } from './harness.mjs'

const PREFIX = '/upscaler'
const SMALL_MODEL = 'realesr-animevideov3'
const README_HEADING = '#### The web UI and the API under one prefix'
const README_BACKEND = '127.0.0.1:8000'
const README_DIST = '/opt/inpaint-web/frontend/dist/'

const tmp = mkdtempSync(join(tmpdir(), 'upscaler-e2e-prefix-'))
const children = []
let backendChild = null
const { log, waitFor, test, finish } = harness({
  prefix: 'e2e-prefix',
  logPass: true,
  onFailure: () => {
    if (backendChild) log(`backend log:\n${backendChild.logTail()}`)
    const errors = join(tmp, 'nginx', 'error.log')
    if (existsSync(errors)) log(`nginx error.log:\n${readFileSync(errors, 'utf8').split('\n').slice(-20).join('\n')}`)
  },
})

function start(name, cmd, args, opts) {
  const child = spawnLogged(name, cmd, args, opts)
  children.push(child)
  return child
}

/** nginx as tests/deploy/deploy_helpers.py finds it; missing is a failure with the fix, not a skip. */
function findNginx() {
  const candidates = process.env.NGINX ? [process.env.NGINX] : [...(process.env.PATH || '').split(delimiter).map((d) => d && join(d, 'nginx')), '/usr/sbin/nginx', '/sbin/nginx']
  for (const path of candidates) {
    if (!path) continue
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      /* next */
    }
  }
  throw new Error(`nginx is not installed: this test needs a real nginx (bash scripts/setup.sh --test installs it, or set NGINX=/path/to/nginx)${process.env.NGINX ? `; NGINX=${process.env.NGINX} is not an executable` : ''}`)
}

/** The README's nginx block for the UI and the API under one prefix, pointed at this run's backend and build. */
function readmeLocations(backendPort, dist) {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const at = readme.indexOf(README_HEADING)
  assert(at >= 0, `README.md: no "${README_HEADING}" section`)
  const block = /```nginx\n([\s\S]*?)```/.exec(readme.slice(at))
  assert(block, `README.md: no nginx block under "${README_HEADING}"`)
  const text = block[1]
  assert(text.includes(README_BACKEND) && text.includes(README_DIST), `README.md: the block should proxy to ${README_BACKEND} and serve ${README_DIST}`)
  return text.replaceAll(README_BACKEND, `127.0.0.1:${backendPort}`).replaceAll(README_DIST, `${dist.replace(/\/+$/, '')}/`)
}

/** A throwaway nginx.conf around one server block holding `locations` (as deploy_helpers.nginx_main_conf). */
function nginxConf(dir, port, locations) {
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 128; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    server {
        listen 127.0.0.1:${port};
${locations}
    }
}
`,
  )
  return conf
}

function makePhoto() {
  // A real photo from scikit-image, cropped small (96x72), as in run.mjs.
  const script = `
import sys
from PIL import Image
from skimage import data
Image.fromarray(data.astronaut()[60:132, 160:256]).save(f"{sys.argv[1]}/photo.png")
`
  const r = spawnSync(PYTHON, ['-c', script, tmp], { stdio: 'inherit' })
  assert(r.status === 0, 'could not write the test photo')
  return join(tmp, 'photo.png')
}

/** A page that records the path of every request it makes to `origin` (and any it makes elsewhere). */
async function newPage(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  const paths = []
  const elsewhere = []
  page.on('request', (req) => {
    const u = new URL(req.url())
    if (['blob:', 'data:'].includes(u.protocol)) return // the page's own images, no request on the wire
    if (u.origin === origin) paths.push(`${req.method()} ${u.pathname}`)
    else elsewhere.push(req.url())
  })
  page.on('pageerror', (err) => log(`  [pageerror] ${err.message}`))
  return { context, page, paths, elsewhere }
}

const pathOf = (entry) => entry.split(' ')[1]

async function main() {
  assert(existsSync(PYTHON), `python not found at ${PYTHON} (set PYTHON)`)
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`)
  const nginx = findNginx()
  const dist = appBuild(tmp, log)
  assert(existsSync(join(dist, 'index.html')), `no index.html in ${dist}`)
  const photo = makePhoto()

  // ---- backend, as run.mjs starts it, with ROOT_PATH ----
  const apiPort = await freePort()
  const api = `http://127.0.0.1:${apiPort}`
  const modelsDir = process.env.E2E_MODELS_DIR || join(tmp, 'models')
  log(`starting backend on ${api} with ROOT_PATH=${PREFIX} (models in ${modelsDir})`)
  backendChild = start('backend', PYTHON, ['-m', 'uvicorn', 'backend.api_server:app', '--host', '127.0.0.1', '--port', String(apiPort), '--http', 'h11'], {
    cwd: REPO,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      ROOT_PATH: PREFIX,
      MODELS_DIR: modelsDir,
      JOBS_DIR: join(tmp, 'jobs'),
      DEFAULT_MODEL: SMALL_MODEL,
      DEVICE: 'cpu',
      TILE: '32', // a few tiles, so SSE progress has steps
      TILE_PAD: '4',
      API_KEYS: '',
    },
  })

  // ---- nginx with the README's block ----
  const nginxDir = join(tmp, 'nginx')
  mkdirSync(nginxDir)
  const port = await freePort()
  const conf = nginxConf(nginxDir, port, readmeLocations(apiPort, dist))
  const nginxArgs = ['-p', nginxDir, '-e', join(nginxDir, 'error.log'), '-c', conf]
  const check = spawnSync(nginx, ['-t', ...nginxArgs], { encoding: 'utf8' })
  assert(check.status === 0, `nginx -t rejects the README's block:\n${check.stderr}`)
  const proxy = start('nginx', nginx, nginxArgs, {})
  const origin = `http://127.0.0.1:${port}`
  await waitFor('nginx', async () => (await fetch(`${origin}${PREFIX}/`)).ok, 15000, proxy)

  await waitFor(
    'backend health through the prefix',
    async () => {
      const h = await (await fetch(`${origin}${PREFIX}/api/health`)).json()
      return h.status === 'healthy' && h.model_loaded
    },
    240000,
    backendChild,
  )
  log('backend healthy behind nginx')

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: HEADLESS })
  try {
    await test('the page at /upscaler/ upscales a photo in server mode; every request stays under the prefix', async () => {
      const { context, page, paths, elsewhere } = await newPage(browser, origin)
      await page.goto(`${origin}${PREFIX}/`)
      await page
        .locator('[data-testid=engine-badge][data-engine=server]')
        .waitFor({ timeout: 30000 })
        .catch(() => {
          throw new Error(`the page did not reach the backend (no server engine); it requested: ${paths.join(', ')}`)
        })
      await chooseFile(page, photo)
      await page.getByTestId('model').selectOption(SMALL_MODEL)
      await page.getByTestId('scale').selectOption('4')
      await page.getByTestId('start').click()
      await page.locator('[data-testid=result-image], [data-testid=error]').first().waitFor({ timeout: 120000 })
      if (await page.getByTestId('error').count()) throw new Error(`error instead of a result: ${await page.getByTestId('error').innerText()}`)
      await page.waitForFunction(() => document.querySelector('[data-testid=result-image]')?.naturalWidth > 0, null, { timeout: 10000 })
      const size = await page.evaluate(() => {
        const el = document.querySelector('[data-testid=result-image]')
        return [el.naturalWidth, el.naturalHeight]
      })
      assert(size[0] === 384 && size[1] === 288, `result is ${size.join('x')}, expected 384x288`)
      const trail = await page.evaluate(() => window.__upscaleEvents ?? [])
      const job = trail.find((e) => e.kind === 'job')?.detail
      assert(job, 'no job id recorded')
      assert(trail.some((e) => e.kind === 'progress' && e.source === 'sse'), `no SSE progress through nginx: ${JSON.stringify(trail.filter((e) => e.kind === 'progress'))}`)

      assert(elsewhere.length === 0, `requests left the page's origin: ${elsewhere.join(', ')}`)
      const outside = paths.filter((p) => !pathOf(p).startsWith(`${PREFIX}/`))
      assert(outside.length === 0, `requests outside ${PREFIX}/: ${outside.join(', ')}`)
      const api = paths.filter((p) => pathOf(p).includes('/api/'))
      const stray = api.filter((p) => !pathOf(p).startsWith(`${PREFIX}/api/`))
      assert(stray.length === 0, `API requests outside ${PREFIX}/api/: ${stray.join(', ')}`)
      const jobPath = `${PREFIX}/api/jobs/${job}`
      for (const wanted of [`GET ${PREFIX}/config.json`, `GET ${PREFIX}/api/health`, `POST ${PREFIX}/api/jobs`, `GET ${jobPath}/events`, `GET ${jobPath}/result`]) {
        assert(paths.includes(wanted), `expected ${wanted}; the page made: ${paths.join(', ')}`)
      }
      log(`  ${api.length} API requests, all under ${PREFIX}/api/`)
      await context.close()
    })

    await test('a relative apiUrl (".") in config.json reaches the API under the prefix too', async () => {
      const { context, page, paths } = await newPage(browser, origin)
      await page.route(`${origin}${PREFIX}/config.json`, (route) => route.fulfill({ contentType: 'application/json', body: '{"apiUrl": "."}' }))
      await page.goto(`${origin}${PREFIX}/`)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      const api = paths.filter((p) => pathOf(p).includes('/api/'))
      assert(api.length > 0 && api.every((p) => pathOf(p).startsWith(`${PREFIX}/api/`)), `API requests: ${api.join(', ')}`)
      await context.close()
    })

    await test('/upscaler/docs renders Swagger UI with its schema, all under the prefix', async () => {
      const { context, page, paths, elsewhere } = await newPage(browser, origin)
      const schema = page.waitForResponse((res) => new URL(res.url()).pathname === `${PREFIX}/openapi.json`, { timeout: 30000 })
      await page.goto(`${origin}${PREFIX}/docs`)
      assert((await schema).status() === 200, `${PREFIX}/openapi.json answered ${(await schema).status()}`)
      // An operation of the schema on the page: Swagger UI loaded its scripts and read the schema.
      await page.locator('.opblock-summary-path', { hasText: '/api/jobs' }).first().waitFor({ timeout: 30000 })
      assert(elsewhere.length === 0, `the docs loaded files from elsewhere: ${elsewhere.join(', ')}`)
      const outside = paths.filter((p) => !pathOf(p).startsWith(`${PREFIX}/`))
      assert(outside.length === 0, `the docs requested outside ${PREFIX}/: ${outside.join(', ')}`)
      await context.close()
    })

    await test('/upscaler redirects to /upscaler/; redoc, openapi.json and local metrics answer through the prefix', async () => {
      const bare = await fetch(`${origin}${PREFIX}`, { redirect: 'manual' })
      assert(bare.status === 301 && new URL(bare.headers.get('location'), origin).pathname === `${PREFIX}/`, `${PREFIX} answered ${bare.status} ${bare.headers.get('location')}`)
      const redoc = await fetch(`${origin}${PREFIX}/redoc`)
      assert(redoc.ok && (await redoc.text()).includes(`${PREFIX}/openapi.json`), `${PREFIX}/redoc answered ${redoc.status}`)
      const schema = await (await fetch(`${origin}${PREFIX}/openapi.json`)).json()
      assert(JSON.stringify(schema.servers) === JSON.stringify([{ url: PREFIX }]), `servers: ${JSON.stringify(schema.servers)}`)
      const metrics = await fetch(`${origin}${PREFIX}/metrics`) // from 127.0.0.1, which the block allows
      assert(metrics.ok && (await metrics.text()).includes('http_requests_total'), `${PREFIX}/metrics answered ${metrics.status}`)
      const missing = await fetch(`${origin}${PREFIX}/no-such-file.js`)
      assert(missing.status === 404, `a missing file answered ${missing.status}, expected 404`)
    })
  } finally {
    await browser.close()
  }
}

finish(main, {
  cleanup: async () => {
    for (const child of children.reverse()) await stop(child)
    rmSync(tmp, { recursive: true, force: true })
  },
})
