#!/usr/bin/env node
/**
 * End-to-end tests in real headless Chromium (Debian's /usr/bin/chromium via playwright-core)
 * against a live backend that this script starts itself:
 *
 *   1. server mode: a real photo goes through the job API; SSE progress events arrive; the
 *      result image has the right size; the download is named photo_x4.png; an over-limit
 *      image shows the warning and then the backend's error detail;
 *   2. browser mode: a small image with the small model runs in onnxruntime-web, tile by tile;
 *   3. backend stopped: the page says so, falls back to the browser, and the result appears.
 *
 * Env: PYTHON (default ../.venv/bin/python), CHROMIUM (default /usr/bin/chromium),
 * E2E_SKIP_BUILD=1 to reuse dist/, E2E_MODELS_DIR to reuse converted weights,
 * E2E_ONLY=<substring> to run a subset, E2E_HEADED=1.
 * Screenshots go to frontend/test-artifacts/. The scaffolding shared with modelPicker.mjs is in harness.mjs.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { chromium } from 'playwright-core'
import { assert, chooseFile, CHROMIUM, CHROMIUM_ARGS, freePort, FRONTEND, harness, HEADLESS, PYTHON, REPO, spawnLogged, stop, VITE } from './harness.mjs'

const ART = join(FRONTEND, 'test-artifacts')
const DIST = join(FRONTEND, 'dist')
const SMALL_MODEL = 'realesr-animevideov3'
// Bundled with the backend (listed by /api/models) but not offered in the browser.
const SERVER_ONLY_MODEL = 'RealESRGAN_x4plus_anime_6B'

const children = []
const tmp = mkdtempSync(join(tmpdir(), 'upscaler-e2e-'))
let backendChild = null
// A failed test shows the backend's last lines: its error is often the reason.
const { log, waitFor, test, finish } = harness({
  prefix: 'e2e',
  logPass: true,
  onFailure: () => backendChild && log(`backend log:\n${backendChild.logTail()}`),
})

function start(name, cmd, args, opts) {
  const child = spawnLogged(name, cmd, args, opts)
  children.push(child)
  return child
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`)
}

// ---------------------------------------------------------------- setup

function makeImages() {
  // Real photos from scikit-image, cropped small: the test machines have 2 CPU cores.
  const script = `
import sys
from PIL import Image
from skimage import data
out = sys.argv[1]
Image.fromarray(data.astronaut()[60:132, 160:256]).save(f"{out}/photo.png")          # 96x72
Image.fromarray(data.chelsea()[100:132, 150:190]).save(f"{out}/small.png")            # 40x32
Image.fromarray(data.coffee()[100:220, 200:360]).save(f"{out}/big.png")               # 160x120
frames = [Image.new("RGB", (40, 32), c) for c in ("red", "blue", "green")]
frames[0].save(f"{out}/anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
`
  run(PYTHON, ['-c', script, tmp])
  writeFileSync(join(tmp, 'notimage.png'), 'this is text, not a picture\n')
}

const PROXY_502 = { status: 502, contentType: 'text/html', body: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>' }
const PROXY_413 = { status: 413, contentType: 'text/html', body: '<html><head><title>413 Request Entity Too Large</title></head><body><h1>413 Request Entity Too Large</h1></body></html>' }
const isJobCreate = (req) => req.method() === 'POST' && /\/api\/jobs$/.test(new URL(req.url()).pathname)

function writeConfig(cfg) {
  writeFileSync(join(DIST, 'config.json'), JSON.stringify(cfg, null, 2))
}

async function newPage(browser, locale = 'en-US') {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 860 }, acceptDownloads: true })
  const page = await context.newPage()
  const external = []
  page.on('request', (req) => {
    const u = new URL(req.url())
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['blob:', 'data:'].includes(u.protocol)) external.push(req.url())
  })
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED/.test(msg.text())) log(`  [console] ${msg.text()}`)
  })
  page.on('pageerror', (err) => log(`  [pageerror] ${err.message}`))
  return { context, page, external }
}

async function resultSize(page, timeoutMs) {
  const img = page.getByTestId('result-image')
  await img.waitFor({ state: 'visible', timeout: timeoutMs })
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid=result-image]')
      return el && el.complete && el.naturalWidth > 0
    },
    null,
    { timeout: 10000 },
  )
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid=result-image]')
    return [el.naturalWidth, el.naturalHeight]
  })
}

const events = (page) => page.evaluate(() => window.__upscaleEvents ?? [])

/** The result's size once it is shown; fails at once with the error text if an error is shown instead. */
async function resultSizeOrError(page, timeoutMs) {
  await page.locator('[data-testid=result-image], [data-testid=error]').first().waitFor({ timeout: timeoutMs })
  if (await page.getByTestId('error').count()) throw new Error(`error instead of a result: ${await page.getByTestId('error').innerText()} ${JSON.stringify((await events(page)).filter((e) => e.kind === 'error'))}`)
  return resultSize(page, 10000)
}

async function main() {
  mkdirSync(ART, { recursive: true })
  assert(existsSync(PYTHON), `python not found at ${PYTHON} (set PYTHON)`)
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`)

  if (process.env.E2E_SKIP_BUILD !== '1') {
    log('building the frontend')
    run('npm', ['run', 'build'], { cwd: FRONTEND })
  }
  run('node', ['scripts/check-dist.mjs'], { cwd: FRONTEND })
  makeImages()

  // ---- backend ----
  const apiPort = await freePort()
  const webPort = await freePort()
  const api = `http://127.0.0.1:${apiPort}`
  const web = `http://127.0.0.1:${webPort}`
  const modelsDir = process.env.E2E_MODELS_DIR || join(tmp, 'models')
  log(`starting backend on ${api} (models in ${modelsDir})`)
  const backend = start('backend', PYTHON, ['-m', 'uvicorn', 'backend.api_server:app', '--host', '127.0.0.1', '--port', String(apiPort), '--http', 'h11', '--h11-max-incomplete-event-size', '65536'], {
    cwd: REPO,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      MODELS_DIR: modelsDir,
      JOBS_DIR: join(tmp, 'jobs'),
      DEFAULT_MODEL: SMALL_MODEL,
      DEVICE: 'cpu',
      TILE: '16', // several tiles even for a small photo, so progress has steps
      TILE_PAD: '4',
      MAX_INPUT_PIXELS: '10000', // big.png (160x120) is over it: exercises the warning and error path
      CORS_ORIGINS: `${web},http://localhost:${webPort}`,
      API_KEYS: '',
    },
  })
  backendChild = backend
  await waitFor(
    'backend health',
    async () => {
      const h = await (await fetch(`${api}/api/health`)).json()
      return h.status === 'healthy' && h.model_loaded
    },
    240000,
    backend,
  )
  log('backend healthy')

  // ---- the static copy of the small model, for the fallback when the backend is gone ----
  const staticModel = join(DIST, 'models', `${SMALL_MODEL}.onnx`)
  mkdirSync(dirname(staticModel), { recursive: true })
  const onnxRes = await fetch(`${api}/api/models/${SMALL_MODEL}/onnx`)
  assert(onnxRes.ok, `GET /api/models/${SMALL_MODEL}/onnx answered ${onnxRes.status}`)
  writeFileSync(staticModel, Buffer.from(await onnxRes.arrayBuffer()))

  // ---- static frontend: the production build behind vite preview ----
  const preview = start('preview', process.execPath, [VITE, 'preview', '--port', String(webPort), '--strictPort', '--host', '127.0.0.1'], {
    cwd: FRONTEND,
    env: { ...process.env, API_PROXY_TARGET: api },
  })
  await waitFor('vite preview', async () => (await fetch(web)).ok, 60000, preview)

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: HEADLESS })
  try {
    // ------------------------------------------------------------ 1. server mode
    await test('server mode: real photo via job API with SSE progress', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page, external } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      assert((await page.getByTestId('fallback-banner').count()) === 0, 'no fallback banner expected with a healthy backend')
      await page.screenshot({ path: join(ART, '01-server-empty.png') })
      await chooseFile(page, join(tmp, 'photo.png'))
      await page.getByTestId('model').selectOption(SMALL_MODEL)
      await page.getByTestId('scale').selectOption('4')
      await page.getByTestId('start').click()
      await page.getByTestId('progress').waitFor({ timeout: 10000 })
      await page.screenshot({ path: join(ART, '02-server-progress.png') })
      const [w, h] = await resultSize(page, 120000)
      assert(w === 384 && h === 288, `server result is ${w}x${h}, expected 384x288`)
      // Once the page has the result it deletes the job, so the server does not keep it until its TTL.
      const jobId = (await events(page)).find((e) => e.kind === 'job')?.detail
      assert(jobId, 'no job id recorded')
      await waitFor('the finished job deleted on the server', async () => (await fetch(`${api}/api/jobs/${jobId}`)).status === 404, 10000)
      const progress = (await events(page)).filter((e) => e.kind === 'progress')
      const sse = progress.filter((e) => e.source === 'sse')
      assert(sse.length >= 2, `expected SSE progress events, got ${JSON.stringify(progress)}`)
      for (let i = 1; i < sse.length; i++) assert(sse[i].value >= sse[i - 1].value, 'progress went backwards')
      assert(sse.at(-1).value === 100, `last progress is ${sse.at(-1).value}`)
      if (!sse.some((e) => e.value > 0 && e.value < 100)) log('  note: no intermediate SSE progress seen (job too fast)')
      const meta = await page.getByTestId('result-meta').innerText()
      assert(/cpu/i.test(meta), `result should name the device: ${meta}`)
      await page.screenshot({ path: join(ART, '03-server-result.png') })
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()])
      assert(download.suggestedFilename() === 'photo_x4.png', `download named ${download.suggestedFilename()}`)
      assert(external.length === 0, `requests left the machine: ${external.join(', ')}`)
      // Both layers of the comparison are clipped to their side (transparent originals).
      const clips = await page.evaluate(() => ['result-image', 'before-image'].map((id) => document.querySelector(`[data-testid=${id}]`).style.clipPath))
      assert(clips.every((c) => c.startsWith('inset(')), `both compare layers should be clipped: ${clips}`)

      // Not an image: says it could not be opened, and the previous image and result stay.
      await chooseFile(page, join(tmp, 'notimage.png'))
      await page.getByTestId('error').waitFor({ timeout: 10000 })
      const title = await page.getByTestId('error-title').innerText()
      assert(/could not open/i.test(title), `bad file error title: ${title}`)
      assert(await page.getByTestId('result-image').isVisible(), 'the previous result should stay after a bad file')
      log(`  ${sse.length} SSE progress events: ${sse.map((e) => Math.round(e.value)).join(' → ')}`)

      // Over the server's input limit: warned first, then the backend's detail is shown.
      await chooseFile(page, join(tmp, 'big.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('limit-warning').waitFor({ timeout: 10000 })
      await page.screenshot({ path: join(ART, '04-server-limit-warning.png') })
      await page.getByTestId('warn-continue').click()
      const err = page.getByTestId('error')
      await err.waitFor({ timeout: 30000 })
      const text = await err.innerText()
      assert(/image_too_large|pixels|too large|limit/i.test(text), `error should carry the backend detail: ${text}`)
      await page.screenshot({ path: join(ART, '05-server-error.png') })
      await context.close()
    })

    // ------------------------------------------------------------ backend refusal in Chinese
    await test('server mode, zh-CN: a backend refusal (too many pixels) reads in Chinese, in MP', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser, 'zh-CN')
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      await chooseFile(page, join(tmp, 'big.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('warn-continue').click({ timeout: 10000 })
      await page.getByTestId('error').waitFor({ timeout: 30000 })
      const text = await page.getByTestId('error').innerText()
      // The backend said "image is 160x120 = 19200 pixels; the limit is 10000" (MAX_INPUT_PIXELS).
      assert(text.includes('图片为 160×120（0.019 百万像素），超过服务器 0.01 百万像素的限制。'), `error should be in Chinese: ${text}`)
      assert(!/pixels|the limit is/.test(text), `the backend's English should not show: ${text}`)
      await page.screenshot({ path: join(ART, '05c-server-error-zh.png') })
      await context.close()
    })

    // ------------------------------------------------------------ cancel
    await test('server mode: cancel button stops the job', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      await chooseFile(page, join(tmp, 'photo.png'))
      // The result is held back, so a fast job is still running when Cancel is clicked (else the
      // click could land on the Start button that replaces Cancel and start a second job).
      let release
      const held = new Promise((r) => (release = r))
      await page.route(/\/api\/jobs\/[^/]+\/result$/, async (route) => {
        await held
        await route.continue().catch(() => undefined) // the page aborted it
      })
      await page.getByTestId('start').click()
      await page.getByTestId('cancel').click({ timeout: 10000 })
      await page.getByTestId('info').waitFor({ timeout: 15000 })
      release()
      await page.unroute(/\/api\/jobs\/[^/]+\/result$/)
      assert((await page.getByTestId('result-image').count()) === 0, 'no result after cancel')
      const trail = await events(page)
      assert(trail.some((e) => e.kind === 'cancel'), `the cancel should be in the event trail: ${JSON.stringify(trail)}`)
      assert(!trail.some((e) => e.kind === 'error'), `a cancel is not an error: ${JSON.stringify(trail.filter((e) => e.kind === 'error'))}`)
      const job = trail.find((e) => e.kind === 'job')
      if (job) {
        const state = await waitFor('job to end', async () => {
          const res = await fetch(`${api}/api/jobs/${job.detail}`)
          if (res.status === 404) return 'deleted' // DELETE cancels and forgets the job
          const s = await res.json()
          return ['cancelled', 'succeeded'].includes(s.state) ? s.state : null
        }, 30000)
        log(`  job ${job.detail} ended ${state}`)
      }
      await context.close()
    })

    // ------------------------------------------------------------ cancel while uploading, double start, busy drop, proxy 413
    await test('server mode: cancel while uploading, one job per double click, busy notice, proxy 413', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser)
      const creates = []
      page.on('request', (req) => isJobCreate(req) && creates.push(req.url()))
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      await chooseFile(page, join(tmp, 'small.png'))

      // A slow upload: the POST is held; Cancel must end it at once, and the request with it.
      const aborted = []
      page.on('requestfailed', (req) => isJobCreate(req) && aborted.push(req.failure()?.errorText))
      const answered = []
      page.on('requestfinished', (req) => isJobCreate(req) && answered.push(req.url()))
      let release
      const held = new Promise((r) => (release = r))
      await page.route(/\/api\/jobs$/, async (route) => {
        await held
        await route.continue().catch(() => undefined) // the page aborted it
      })
      await page.getByTestId('start').click()
      await page.getByText('Uploading').waitFor({ timeout: 10000 })
      const t0 = Date.now()
      await page.getByTestId('cancel').click()
      await page.getByTestId('info').waitFor({ timeout: 3000 })
      assert(/cancel/i.test(await page.getByTestId('info').innerText()), 'cancel during upload should say cancelled')
      log(`  cancelled during upload in ${Date.now() - t0} ms`)
      await waitFor('the held upload aborted by the page, not kept alive', async () => aborted.length === 1, 3000)
      release()
      await page.unroute(/\/api\/jobs$/)
      assert(!(await events(page)).some((e) => e.kind === 'job'), 'no job should be followed after cancelling the upload')

      // A slow link: the upload's progress shows in the stage label. Chromium's emulation holds
      // the whole request rather than sending it slowly (the body is read at once, so this shows
      // 100% for seconds): a Cancel then waits for the answer and deletes the job it names.
      const net = await context.newCDPSession(page)
      await net.send('Network.enable')
      await net.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4 * 1024 })
      const storedJobs = async () => Number(/^upscale_jobs_stored (\S+)/m.exec(await (await fetch(`${api}/metrics`)).text())?.[1])
      const storedBefore = await storedJobs()
      await chooseFile(page, join(tmp, 'photo.png')) // ~14 kB: seconds at this speed
      await page.getByTestId('start').click()
      const card = page.getByTestId('progress')
      await waitFor('upload progress in the stage label (Uploading N%)', async () => /Uploading \d+%/.test(await card.innerText({ timeout: 500 }).catch(() => '')), 5000)
      await page.getByTestId('cancel').click()
      await waitFor('the create request ended', async () => answered.length + aborted.length === 2, 15000)
      await net.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
      await waitFor('the job of an upload cancelled once sent deleted on the server', async () => (await storedJobs()) <= storedBefore, 15000)
      assert(!(await events(page)).some((e) => e.kind === 'job'), 'the cancelled job should not be followed')
      await net.detach()
      await chooseFile(page, join(tmp, 'small.png'))

      // Cancel after the upload, before the answer: the backend has made the job, so the page
      // must delete it once the id arrives, not leave it to run and hold a queue slot. The answer
      // is held at the response stage through CDP (page.route's route.fetch() sends a FormData
      // file empty, so it cannot pass the upload on).
      const cdp = await context.newCDPSession(page)
      await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/api/jobs', requestStage: 'Response' }] })
      const answerHeld = new Promise((r) => cdp.once('Fetch.requestPaused', r))
      const cancelsBefore = (await events(page)).filter((e) => e.kind === 'cancel').length
      await page.getByTestId('start').click()
      const { requestId, responseStatusCode } = await answerHeld
      const { body, base64Encoded } = await cdp.send('Fetch.getResponseBody', { requestId })
      const orphanId = JSON.parse(base64Encoded ? Buffer.from(body, 'base64').toString() : body).id
      assert(responseStatusCode === 202 && orphanId, `the backend should have created the job: ${responseStatusCode} ${body}`)
      await page.getByTestId('cancel').click()
      await page.waitForFunction((n) => window.__upscaleEvents.filter((e) => e.kind === 'cancel').length > n, cancelsBefore, { timeout: 5000 })
      await cdp.send('Fetch.continueRequest', { requestId }).catch(() => undefined) // gone if the page aborted it
      await cdp.send('Fetch.disable')
      await waitFor('the job created as the page cancelled deleted on the server', async () => (await fetch(`${api}/api/jobs/${orphanId}`)).status === 404, 15000)
      assert(!(await events(page)).some((e) => e.kind === 'job'), 'the cancelled job should not be followed')

      // Two clicks in one go: one job. A file dropped meanwhile gets a notice, not silence.
      await page.route(/\/api\/jobs$/, async (route) => {
        await new Promise((r) => setTimeout(r, 1500))
        await route.continue()
      })
      creates.length = 0
      await page.evaluate(() => {
        const b = document.querySelector('[data-testid=start]')
        b.click()
        b.click()
      })
      // Busy: the app neither loads nor refuses it (no event), it shows a notice.
      await page.getByTestId('file-input').setInputFiles(join(tmp, 'photo.png'))
      await page.getByTestId('notice').waitFor({ timeout: 5000 })
      const [w, h] = await resultSize(page, 120000)
      assert(w === 160 && h === 128, `result is ${w}x${h}; the dropped file must not replace the running one`)
      assert(creates.length === 1, `one click-pair should create one job, saw ${creates.length}`)
      assert((await events(page)).filter((e) => e.kind === 'job').length === 1, 'one job expected')
      assert((await page.getByTestId('notice').count()) === 0, 'the notice goes when the job ends')
      await page.unroute(/\/api\/jobs$/)

      // A proxy's HTML 413 page: a readable message, no HTML.
      await page.route(/\/api\/jobs$/, (route) => route.fulfill(PROXY_413))
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ timeout: 15000 })
      const text = await page.getByTestId('error').innerText()
      assert(/too large/i.test(text) && !/<|html/i.test(text), `413 page should read as a message: ${text}`)
      await page.screenshot({ path: join(ART, '05b-proxy-413.png') })
      await context.close()
    })

    // ------------------------------------------------------------ 2. browser mode
    await test('browser mode: small image, small model, onnxruntime-web tiles', async () => {
      writeConfig({ apiUrl: api, mode: 'browser', browserTile: 24, browserOverlap: 8 })
      const { context, page, external } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=fallback-banner][data-reason=forced]').waitFor({ timeout: 15000 })
      await chooseFile(page, join(tmp, 'small.png'))
      await page.getByTestId('model').selectOption(SMALL_MODEL)
      await page.getByTestId('start').click()
      const [w, h] = await resultSize(page, 180000)
      assert(w === 160 && h === 128, `browser result is ${w}x${h}, expected 160x128`)
      const ev = await events(page)
      const tiles = ev.filter((e) => e.kind === 'progress' && e.source === 'tile')
      assert(tiles.length >= 4 && tiles.at(-1).value === 100, `expected per-tile progress, got ${JSON.stringify(tiles)}`)
      const stage = ev.find((e) => e.kind === 'stage' && /running:(wasm|webgpu)/.test(e.detail))
      assert(stage, `expected the execution backend to be reported: ${JSON.stringify(ev)}`)
      log(`  engine ${stage.detail}; ${tiles.length} tile events`)
      assert(external.length === 0, `requests left the machine: ${external.join(', ')}`)
      await page.screenshot({ path: join(ART, '06-browser-result.png') })

      // Output scale 2: the model's 4x output resized down.
      await page.getByTestId('scale').selectOption('2')
      await page.getByTestId('start').click()
      await page.waitForFunction(() => (window.__upscaleEvents ?? []).filter((e) => e.kind === 'result').length >= 2, null, {
        timeout: 120000,
      })
      const [w2, h2] = await resultSize(page, 10000)
      assert(w2 === 80 && h2 === 64, `browser x2 result is ${w2}x${h2}, expected 80x64`)
      await context.close()
    })

    // ------------------------------------------------------------ no browser model
    await test('browser mode: no model on the server says how to install it; animated GIF shows its first frame', async () => {
      writeConfig({ apiUrl: api, mode: 'browser', modelsUrl: 'no-models' })
      const { context, page } = await newPage(browser)
      // The backend's export is gone and the static server answers its index.html fallback.
      await page.route(/\/api\/models\/[^/]+\/onnx$/, (route) => route.abort('connectionrefused'))
      await page.route(/\/no-models\//, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html><body><div id="root"></div></body></html>' }))
      await page.goto(web)
      await page.locator('[data-testid=fallback-banner][data-reason=forced]').waitFor({ timeout: 15000 })
      await chooseFile(page, join(tmp, 'anim.gif'))
      await page.getByTestId('animated-note').waitFor({ timeout: 10000 })
      const type = await page.evaluate(async () => (await (await fetch(document.querySelector('.source-thumb').src)).blob()).type)
      assert(type === 'image/png', `an animated GIF should be shown as a still PNG, got ${type}`)
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ timeout: 60000 })
      const text = await page.getByTestId('error').innerText()
      assert(/not installed/.test(text) && /npm run models/.test(text), `missing model message: ${text}`)
      assert(!/: 200/.test(text), `the HTML fallback's 200 should not be shown: ${text}`)
      await page.screenshot({ path: join(ART, '06b-browser-no-model.png') })
      await context.close()
    })

    // ------------------------------------------------------------ lost mid-job
    for (const [how, answer] of [
      ['connection refused', (route) => route.abort('connectionrefused')],
      ['proxy 502', (route) => route.fulfill(PROXY_502)],
    ]) {
      await test(`server mode: backend lost mid-job (${how}), the browser carries on`, async () => {
        writeConfig({ apiUrl: api, mode: 'server', browserTile: 32, browserOverlap: 8 })
        const { context, page } = await newPage(browser)
        await page.goto(web)
        await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
        // The job is accepted, then every status request fails.
        await page.route(/\/api\/jobs\/[^/]+(\/events)?$/, answer)
        await chooseFile(page, join(tmp, 'small.png'))
        await page.getByTestId('start').click()
        const [w, h] = await resultSize(page, 180000)
        assert(w === 160 && h === 128, `result is ${w}x${h}, expected 160x128`)
        const ev = await events(page)
        assert(ev.some((e) => e.kind === 'engine' && e.detail === 'browser:during-job'), `no mid-job fallback: ${JSON.stringify(ev)}`)
        assert(await page.getByTestId('info').isVisible(), 'the page should say the backend stopped answering')
        await page.screenshot({ path: join(ART, `07a-midjob-fallback-${how.replace(/ /g, '-')}.png`) })
        if (how === 'connection refused') {
          // The backend answers again: the next check (every 15 s) finds it, and "continuing in your
          // browser" goes with the fallback instead of contradicting the Server badge.
          await page.unroute(/\/api\/jobs\/[^/]+(\/events)?$/)
          await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 40000 })
          await page.getByTestId('info').waitFor({ state: 'detached', timeout: 5000 }).catch(() => {})
          const info = (await page.getByTestId('info').count()) ? await page.getByTestId('info').innerText() : ''
          assert(!info, `with the backend back, the page still says: ${info}`)
        }
        await context.close()
      })
    }

    // ------------------------------------------------------------ job forgotten by a restarted backend
    await test('server mode: a job the backend no longer knows (restarted) says so, and the next job runs', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      // The job is accepted, then the backend answers as a restarted one does: it has no such job.
      const forgotten = (route) => route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ detail: `'${route.request().url().split('/jobs/')[1].split('/')[0]}' is not a job id`, code: 'job_not_found' }) })
      await page.route(/\/api\/jobs\/[^/]+(\/events)?$/, forgotten)
      await chooseFile(page, join(tmp, 'small.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ timeout: 30000 })
      const text = await page.getByTestId('error').innerText()
      assert(/no longer has this job/.test(text) && !/is not a job id/.test(text), `the message should say the server lost the job: ${text}`)
      await page.unroute(/\/api\/jobs\/[^/]+(\/events)?$/)
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ state: 'detached', timeout: 5000 })
      const [w, h] = await resultSizeOrError(page, 120000)
      assert(w === 160 && h === 128, `the next job's result is ${w}x${h}, expected 160x128`)
      await context.close()
    })

    // ------------------------------------------------------------ model choice across outages
    await test('server-only model: the browser fallback switches to a browser model and says so (mid-job)', async () => {
      writeConfig({ apiUrl: api, mode: 'server', browserTile: 32, browserOverlap: 8 })
      const { context, page } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      await page.locator(`[data-testid=model] option[value=${SERVER_ONLY_MODEL}]`).waitFor({ state: 'attached', timeout: 10000 })
      await page.getByTestId('model').selectOption(SERVER_ONLY_MODEL)
      // The job is accepted, then the backend is gone: status, events and its ONNX exports fail.
      await page.route(/\/api\/jobs\/[^/]+(\/events)?$/, (route) => route.abort('connectionrefused'))
      await page.route(/\/api\/models\/[^/]+\/onnx$/, (route) => route.abort('connectionrefused'))
      await chooseFile(page, join(tmp, 'small.png'))
      await page.getByTestId('start').click()
      const [w, h] = await resultSizeOrError(page, 180000)
      assert(w === 160 && h === 128, `result is ${w}x${h}, expected 160x128`)
      const note = await page.getByTestId('model-switch').innerText()
      assert(note.includes(SERVER_ONLY_MODEL) && note.includes(SMALL_MODEL), `the switch should name both models: ${note}`)
      assert((await page.getByTestId('model').inputValue()) === SMALL_MODEL, 'the picker should show the browser model now')
      await page.screenshot({ path: join(ART, '07b-midjob-model-switch.png') })
      await context.close()
    })

    await test('server-only model: switched at the check before the job; the choice comes back with the server', async () => {
      writeConfig({ apiUrl: api, mode: 'server', browserTile: 32, browserOverlap: 8 })
      const { context, page } = await newPage(browser)
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      await page.locator(`[data-testid=model] option[value=${SERVER_ONLY_MODEL}]`).waitFor({ state: 'attached', timeout: 10000 })
      await page.getByTestId('model').selectOption(SERVER_ONLY_MODEL)
      await chooseFile(page, join(tmp, 'small.png'))
      // The backend goes away between the choice and the click.
      await page.route(/\/api\//, (route) => route.abort('connectionrefused'))
      await page.getByTestId('start').click()
      const [w, h] = await resultSizeOrError(page, 180000)
      assert(w === 160 && h === 128, `result is ${w}x${h}, expected 160x128`)
      const note = await page.getByTestId('model-switch').innerText()
      assert(note.includes(SERVER_ONLY_MODEL) && note.includes(SMALL_MODEL), `the switch should name both models: ${note}`)
      // The backend is back: the next job runs on it with the model the user chose.
      await page.unroute(/\/api\//)
      let posted = null
      await page.route(/\/api\/jobs$/, (route) => {
        posted = route.request().postDataBuffer()?.toString('latin1') ?? ''
        return route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ detail: 'stopped by the test', code: 'test_stop' }) })
      })
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ timeout: 15000 })
      assert(posted !== null, 'the job should have gone to the server')
      assert(new RegExp(`name="model"\r\n\r\n${SERVER_ONLY_MODEL}\r\n`).test(posted), `the server job should use the chosen model: ${posted.slice(0, 400)}`)
      assert((await page.getByTestId('model').inputValue()) === SERVER_ONLY_MODEL, 'the picker should show the chosen model again')
      await context.close()
    })

    await test('models request failing while the server is up: no browser-only list; retried at the next check', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser)
      await page.route(/\/api\/models$/, (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"detail":"boom"}' }))
      await page.goto(web)
      await page.locator('[data-testid=engine-badge][data-engine=server]').waitFor({ timeout: 30000 })
      const options = () => page.locator('[data-testid=model] option').evaluateAll((els) => els.map((e) => e.value))
      await page.waitForTimeout(500) // the models request has failed by now
      const offered = await options()
      assert(JSON.stringify(offered) === JSON.stringify([SMALL_MODEL]), `only the server's own default should be offered: ${offered}`)
      await page.unroute(/\/api\/models$/)
      await page.route(/\/api\/jobs$/, (route) => route.fulfill({ status: 422, contentType: 'application/json', body: '{"detail":"stopped by the test"}' }))
      await chooseFile(page, join(tmp, 'small.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('error').waitFor({ timeout: 15000 })
      await waitFor('the server model list', async () => (await options()).includes(SERVER_ONLY_MODEL), 10000)
      await context.close()
    })

    // ------------------------------------------------------------ limits right after the backend returns
    await test('backend back at the check before the job: the limit warning uses the server limits', async () => {
      writeConfig({ apiUrl: api, mode: 'server' })
      const { context, page } = await newPage(browser)
      await page.route(/\/api\/health$/, (route) => route.abort('connectionrefused'))
      await page.goto(web)
      await page.locator('[data-testid=fallback-banner][data-reason=unreachable]').waitFor({ timeout: 30000 })
      // The backend returns; its /api/info answers slowly.
      await page.route(/\/api\/info$/, async (route) => {
        await new Promise((r) => setTimeout(r, 1500))
        await route.continue()
      })
      await page.unroute(/\/api\/health$/)
      await chooseFile(page, join(tmp, 'big.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('limit-warning').waitFor({ timeout: 10000 })
      const text = await page.getByTestId('limit-warning').innerText()
      assert(/server limit/i.test(text), `the warning should name the server limit: ${text}`)
      assert(!(await events(page)).some((e) => e.kind === 'job'), 'no job should start before the warning is answered')
      await context.close()
    })

    // ------------------------------------------------------------ keyboard
    await test('empty result panel: a button that Enter and Space open the file chooser with', async () => {
      writeConfig({ apiUrl: api, mode: 'browser' })
      // A page for each key: Chromium ignores a second chooser while the first is still open.
      for (const key of ['Enter', 'Space']) {
        const { context, page } = await newPage(browser)
        // Listening before the page loads turns chooser interception on before the key press.
        const choosers = []
        page.on('filechooser', (chooser) => choosers.push(chooser))
        await page.goto(web)
        await page.locator('[data-testid=fallback-banner][data-reason=forced]').waitFor({ timeout: 15000 })
        const panel = page.locator('.stage').getByRole('button', { name: /Drop an image here/ })
        assert((await panel.count()) === 1, 'the empty panel should be a button named by its hint')
        assert(await panel.evaluate((el) => el.tabIndex >= 0), 'the empty panel should be reachable with Tab')
        await panel.focus()
        await page.keyboard.press(key)
        const chooser = await waitFor(`the file chooser after ${key}`, async () => choosers[0], 5000)
        await chooser.setFiles(join(tmp, 'small.png'))
        await page.getByTestId('result-image').or(page.locator('.preview img')).first().waitFor({ timeout: 10000 })
        await context.close()
      }
    })

    // ------------------------------------------------------------ 3. fallback
    await test('backend stopped: the page says so and the browser takes over', async () => {
      await stop(backend)
      log('  backend stopped')
      writeConfig({ apiUrl: api, mode: 'server', browserTile: 32, browserOverlap: 8 })
      // A fresh context: empty Cache Storage, so the model must come from the static build.
      const { context, page, external } = await newPage(browser, 'zh-CN')
      await page.goto(web)
      const banner = page.locator('[data-testid=fallback-banner][data-reason=unreachable]')
      await banner.waitFor({ timeout: 30000 })
      const text = await banner.innerText()
      assert(/降级|浏览器/.test(text), `the zh-CN page should explain the fallback in Chinese: ${text}`)
      await chooseFile(page, join(tmp, 'photo.png'))
      await page.getByTestId('start').click()
      await page.getByTestId('progress').waitFor({ timeout: 10000 })
      await page.screenshot({ path: join(ART, '07-fallback-progress.png') })
      const [w, h] = await resultSize(page, 240000)
      assert(w === 384 && h === 288, `fallback result is ${w}x${h}, expected 384x288`)
      await page.screenshot({ path: join(ART, '08-fallback-result.png') })
      // A bad file in Chinese, then the language switch: every shown text follows.
      await chooseFile(page, join(tmp, 'notimage.png'))
      await page.getByTestId('error').waitFor({ timeout: 10000 })
      assert((await page.getByTestId('error-title').innerText()).includes('无法打开'), 'zh bad-file title')
      await page.getByTestId('lang').selectOption('en')
      await page.getByText('Download', { exact: false }).first().waitFor({ timeout: 5000 })
      const meta = await page.getByTestId('result-meta').innerText()
      assert(/In browser/.test(meta) && !/浏览器/.test(meta), `result line should switch language: ${meta}`)
      const errText = await page.getByTestId('error').innerText()
      assert(/Could not open/.test(errText) && !/无法/.test(errText), `error should switch language: ${errText}`)
      await page.screenshot({ path: join(ART, '09-fallback-result-en.png') })
      assert(external.length === 0, `requests left the machine: ${external.join(', ')}`)
      await context.close()
    })
  } finally {
    await browser.close()
  }
}

async function cleanup() {
  for (const c of children) await stop(c)
  try {
    rmSync(join(DIST, 'config.json'), { force: true })
  } catch {
    /* ignore */
  }
  rmSync(tmp, { recursive: true, force: true })
}

process.on('SIGINT', () => cleanup().then(() => process.exit(130)))

finish(main, { cleanup, footer: `\nscreenshots: ${ART}` })
