#!/usr/bin/env node
/**
 * End-to-end tests of the model picker in real headless Chromium (playwright-core), against a
 * backend mocked with page.route, so its answers, their timing and its model list can change
 * between steps (a slow start, a redeploy with other models):
 *
 *   1. page load in server mode: the picker says models are loading, and offers no browser
 *      model, until the server's list is in;
 *   2. a chosen (and remembered) model that the redeployed backend no longer lists: the
 *      picker and the job fall back to the backend's default, and a note beside the picker (a
 *      status region) says so; the choice, without the note, comes back with the model, and
 *      an explicit pick replaces it and ends the note, a pick of the very model shown included;
 *   3. /api/models failing (refused, 500, not JSON) while /api/health is fine: a note says the
 *      server's default is used, a job runs with it, and the next check that gets the list ends it;
 *   4. a hidden tab does not poll the backend, and a tab shown again checks at once.
 *
 * The app is built into a temporary folder and served by vite preview, so the shared dist/ and
 * its config.json (used by run.mjs) are left alone.
 * Env: PYTHON (default ../.venv/bin/python), CHROMIUM (default /usr/bin/chromium),
 * E2E_DIST=<folder> to reuse a build, E2E_SKIP_BUILD=1 to reuse dist/ (read only),
 * E2E_ONLY=<substring> to run a subset, E2E_HEADED=1. The scaffolding is in harness.mjs.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { appBuild, assert, chooseFile, CHROMIUM, CHROMIUM_ARGS, harness, HEADLESS, previewApp, PYTHON, sleep, stop } from './harness.mjs'

// The mocked backend's default differs from the app's configured one (realesr-animevideov3),
// so a fallback to the wrong default shows.
const SERVER_DEFAULT = 'RealESRGAN_x2plus'
const ANIME = 'RealESRGAN_x4plus_anime_6B'
const BROWSER_ONLY = 'RealESRGAN_x4plus'
const FULL_LIST = ['realesr-animevideov3', SERVER_DEFAULT, ANIME]

const tmp = mkdtempSync(join(tmpdir(), 'upscaler-e2e-models-'))
const children = []
// A shorter poll than run.mjs's: the mocked answers come fast and the waits here are short.
const { log, waitFor, test, finish } = harness({ prefix: 'e2e-models', pollMs: 200 })

/** A backend whose answers the test changes as it goes: delays, default model and model list. */
function mockBackend() {
  // modelsFailure: null, or how /api/models fails: 'abort' (refused), 'status' (500), 'html' (200, not JSON).
  const state = { healthDelayMs: 0, modelsDelayMs: 0, models: [...FULL_LIST], modelsFailure: null, postedModels: [], healthCalls: 0, modelsCalls: 0 }
  const json = (body, status = 200) => ({ status, contentType: 'application/json', body: JSON.stringify(body) })
  const answer = async (route) => {
    const req = route.request()
    const path = new URL(req.url()).pathname
    if (path.endsWith('/api/health')) {
      state.healthCalls++
      await sleep(state.healthDelayMs)
      return route.fulfill(json({ status: 'healthy', model_loaded: true, model: SERVER_DEFAULT, device: { type: 'cpu', name: 'cpu' } }))
    }
    if (path.endsWith('/api/models')) {
      state.modelsCalls++
      await sleep(state.modelsDelayMs)
      if (state.modelsFailure === 'abort') return route.abort('connectionrefused')
      if (state.modelsFailure === 'status') return route.fulfill(json({ detail: 'boom' }, 500))
      if (state.modelsFailure === 'html') return route.fulfill({ status: 200, contentType: 'text/html', body: '<html>proxy login</html>' })
      const models = state.models.map((name) => ({ name, scale: name === SERVER_DEFAULT ? 2 : 4, arch: null, source: 'bundled', loaded: false, default: name === SERVER_DEFAULT }))
      return route.fulfill(json({ default: SERVER_DEFAULT, models }))
    }
    if (path.endsWith('/api/info')) return route.fulfill(json({ limits: {} }))
    if (path.endsWith('/api/jobs') && req.method() === 'POST') {
      const body = req.postDataBuffer()?.toString('latin1') ?? ''
      state.postedModels.push(body.match(/name="model"\r\n\r\n([^\r]*)\r\n/)?.[1] ?? null)
      return route.fulfill(json({ detail: 'stopped by the test', code: 'test_stop' }, 422))
    }
    return route.fulfill(json({ detail: 'not mocked' }, 404))
  }
  return { state, answer }
}

async function newPage(browser, web, backend) {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 860 } })
  // Every state the model picker passes through, for the checks on what the user could see.
  await context.addInitScript(() => {
    window.__pickerStates = []
    const snap = () => {
      const el = document.querySelector('[data-testid=model]')
      if (!el) return
      const s = { disabled: el.disabled, text: el.innerText, options: [...el.options].map((o) => o.value).filter(Boolean), value: el.value }
      const last = window.__pickerStates.at(-1)
      if (!last || JSON.stringify(last) !== JSON.stringify(s)) window.__pickerStates.push(s)
    }
    new MutationObserver(snap).observe(document, { subtree: true, childList: true, attributes: true, characterData: true })
  })
  await context.route(/\/config\.json(\?.*)?$/, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ apiUrl: '', mode: 'server' }) }))
  await context.route(/\/api\//, backend.answer)
  const page = await context.newPage()
  page.on('pageerror', (err) => log(`  [pageerror] ${err.message}`))
  await page.goto(web)
  return { context, page }
}

const pickerValue = (page) => page.getByTestId('model').inputValue()
const noteText = (page) => page.getByTestId('model-note').textContent()
const LIST_FAILED_NOTE = `Could not get the server's model list; using its default, ${SERVER_DEFAULT}.`
const UNAVAILABLE_NOTE = `${ANIME} is not on this server now; using ${SERVER_DEFAULT}.`
const pickerOptions = (page) => page.locator('[data-testid=model] option').evaluateAll((els) => els.map((e) => e.value))

/**
 * Pick a model as a user does: open the picker's list with the keyboard, go to the model, press
 * Enter. Not selectOption: it fires change even for the option already selected, which a browser
 * does not (Chromium fires change only when another option element ends up selected). Nor typing
 * the name: its first letter alone may select another model on the way.
 */
async function pickAsUser(page, name) {
  const picker = page.getByTestId('model')
  const steps = await picker.evaluate((el, n) => [...el.options].filter((o) => !o.hidden).findIndex((o) => o.value === n), name)
  assert(steps >= 0, `${name} is not offered`)
  await picker.focus()
  await page.keyboard.press('Alt+ArrowDown')
  await sleep(300)
  await page.keyboard.press('Home')
  for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowDown')
  await page.keyboard.press('Enter')
}

/** Start a job; the mocked backend refuses it, after the app's check has asked for health and models. */
async function startJob(page, backend, image) {
  const before = backend.state.postedModels.length
  if (!(await page.locator('.preview img').count())) await chooseFile(page, image)
  await page.getByTestId('start').click()
  await waitFor('the job request', async () => backend.state.postedModels.length > before, 15000)
  await page.getByTestId('error').waitFor({ timeout: 10000 })
  return backend.state.postedModels.at(-1)
}

async function main() {
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`)
  const dist = appBuild(tmp, log)
  const image = join(tmp, 'small.png')
  const py = spawnSync(PYTHON, ['-c', 'import sys; from PIL import Image; Image.new("RGB", (40, 32), "teal").save(sys.argv[1])', image], { stdio: 'inherit' })
  assert(py.status === 0, 'could not write the test image')

  const { web, child: preview } = await previewApp(dist, waitFor)
  children.push(preview)

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: HEADLESS })
  try {
    await test('page load in server mode: the picker says models are loading until the server list is in', async () => {
      const backend = mockBackend()
      backend.state.healthDelayMs = 1500
      backend.state.modelsDelayMs = 1000
      const { context, page } = await newPage(browser, web, backend)
      await page.getByTestId('model').waitFor({ state: 'attached', timeout: 10000 })
      // The server has not answered yet: nothing to pick, and the user is told why.
      const early = page.getByTestId('model')
      assert(await early.isDisabled(), 'the picker should be disabled while the models load')
      assert(/loading models/i.test(await early.innerText()), `the picker should say models are loading: ${await early.innerText()}`)
      await waitFor("the server's model list", async () => JSON.stringify(await pickerOptions(page)) === JSON.stringify(FULL_LIST), 15000)
      assert(await page.getByTestId('model').isEnabled(), 'the picker should be enabled once the list is in')
      const states = await page.evaluate(() => window.__pickerStates)
      const offered = states.filter((s) => !s.disabled && s.options.length)
      assert(offered.length && offered.every((s) => !s.options.includes(BROWSER_ONLY)), `a browser-only model was offered: ${JSON.stringify(states)}`)
      assert(offered.every((s) => JSON.stringify(s.options) === JSON.stringify(FULL_LIST)), `the picker offered another list before the server's: ${JSON.stringify(states)}`)
      await context.close()
    })

    await test("a model the redeployed backend no longer has: the picker and the job use the backend's default and a note says so; the choice comes back with the model", async () => {
      const backend = mockBackend()
      const { context, page } = await newPage(browser, web, backend)
      await page.locator(`[data-testid=model] option[value=${ANIME}]`).waitFor({ state: 'attached', timeout: 15000 })
      await page.getByTestId('model').selectOption(ANIME)
      assert((await startJob(page, backend, image)) === ANIME, 'the first job should use the chosen model')
      assert((await noteText(page)) === '', `no note while the chosen model is there: ${await noteText(page)}`)

      // Redeployed without the model, between two idle checks: the next job's check sees the new list.
      backend.state.models = ['realesr-animevideov3', SERVER_DEFAULT]
      const posted = await startJob(page, backend, image)
      assert(posted === SERVER_DEFAULT, `the job should fall back to the backend's default, not send ${posted}`)
      assert((await pickerValue(page)) === SERVER_DEFAULT, `the picker should show the model sent: ${await pickerValue(page)}`)
      // The user is told why, beside the picker, in a region screen readers announce.
      await waitFor('the note on the missing model', async () => (await noteText(page)) === UNAVAILABLE_NOTE, 5000)
      const note = page.getByTestId('model-note')
      assert(await note.isVisible(), 'the note should be visible')
      assert((await note.getAttribute('role')) === 'status', 'the note should be a status region')
      const describedBy = await page.getByTestId('model').getAttribute('aria-describedby')
      assert(describedBy && describedBy === (await note.getAttribute('id')), `the picker should be described by the note: ${describedBy}`)

      // A reload keeps the preference; the model is still missing, so the default is shown, and the note.
      await page.reload()
      await waitFor('the picker after the reload', async () => (await page.getByTestId('model').isEnabled()) && (await pickerValue(page)) === SERVER_DEFAULT, 15000)
      await waitFor('the note after the reload', async () => (await noteText(page)) === UNAVAILABLE_NOTE, 5000)

      // The model is back: so is the choice, in the picker and in the job.
      backend.state.models = [...FULL_LIST]
      assert((await startJob(page, backend, image)) === ANIME, 'the job should use the remembered model again')
      assert((await pickerValue(page)) === ANIME, `the picker should show the remembered model again: ${await pickerValue(page)}`)
      await waitFor('the note to go with the model back', async () => (await noteText(page)) === '', 5000)
      assert(!(await page.getByTestId('model').getAttribute('aria-describedby')), 'the picker should not point at an empty note')
      await page.reload()
      await waitFor('the remembered model after a reload', async () => (await page.getByTestId('model').isEnabled()) && (await pickerValue(page)) === ANIME, 15000)
      assert((await noteText(page)) === '', `no note after the reload with the model back: ${await noteText(page)}`)

      // Missing again, then the user picks another model: the pick replaces the remembered one, and the note goes.
      backend.state.models = ['realesr-animevideov3', SERVER_DEFAULT]
      assert((await startJob(page, backend, image)) === SERVER_DEFAULT, 'the job should fall back again')
      await waitFor('the note, the model missing again', async () => (await noteText(page)) === UNAVAILABLE_NOTE, 5000)
      await pickAsUser(page, 'realesr-animevideov3')
      await waitFor('the note to go with an explicit pick', async () => (await noteText(page)) === '', 5000)
      backend.state.models = [...FULL_LIST]
      await page.reload()
      await waitFor('the picked model after a reload', async () => (await page.getByTestId('model').isEnabled()) && (await pickerValue(page)) === 'realesr-animevideov3', 15000)
      assert((await noteText(page)) === '', `no note once the user picked: ${await noteText(page)}`)
      await context.close()
    })

    await test('the model shown in place of a missing one can be picked, as a user picks it, and then it is the choice', async () => {
      const backend = mockBackend()
      const { context, page } = await newPage(browser, web, backend)
      await page.locator(`[data-testid=model] option[value=${ANIME}]`).waitFor({ state: 'attached', timeout: 15000 })
      await page.getByTestId('model').selectOption(ANIME)
      backend.state.models = ['realesr-animevideov3', SERVER_DEFAULT]
      await page.reload()
      await waitFor('the fallback and its note', async () => (await page.getByTestId('model').isEnabled()) && (await noteText(page)) === UNAVAILABLE_NOTE, 15000)
      assert((await pickerValue(page)) === SERVER_DEFAULT, `the picker should show the backend's default: ${await pickerValue(page)}`)
      await pickAsUser(page, SERVER_DEFAULT)
      await waitFor('the note to go once the shown model is picked', async () => (await noteText(page)) === '', 5000)
      assert((await pickerValue(page)) === SERVER_DEFAULT, `the picker should still show the picked model: ${await pickerValue(page)}`)
      assert((await page.evaluate(() => localStorage.getItem('upscaler.model'))) === SERVER_DEFAULT, 'the pick should replace the remembered model')
      // The pick holds: after a reload, and once the old model is back.
      backend.state.models = [...FULL_LIST]
      await page.reload()
      await waitFor('the picked model after a reload', async () => (await page.getByTestId('model').isEnabled()) && (await pickerValue(page)) === SERVER_DEFAULT, 15000)
      assert((await noteText(page)) === '', `no note once the user picked: ${await noteText(page)}`)
      assert((await startJob(page, backend, image)) === SERVER_DEFAULT, 'the job should use the picked model')
      await context.close()
    })

    await test("/api/models failing while /api/health is fine: a note says the server's default is used, a job runs with it, and the list comes back at the next check", async () => {
      for (const failure of ['abort', 'status', 'html']) {
        const backend = mockBackend()
        backend.state.modelsFailure = failure
        const { context, page } = await newPage(browser, web, backend)
        await waitFor(`the note (${failure})`, async () => (await noteText(page)) === LIST_FAILED_NOTE, 15000)
        assert((await page.getByTestId('model').isEnabled()) && (await pickerValue(page)) === SERVER_DEFAULT, `${failure}: the picker should offer the server default: ${await pickerValue(page)}`)
        const describedBy = await page.getByTestId('model').getAttribute('aria-describedby')
        assert(describedBy && describedBy === (await page.getByTestId('model-note').getAttribute('id')), `${failure}: the picker should be described by the note`)
        assert((await startJob(page, backend, image)) === SERVER_DEFAULT, `${failure}: the job should run with the server default`)
        assert((await noteText(page)) === LIST_FAILED_NOTE, `${failure}: the note should stay while the list still fails`)
        // The backend's list is back: the next check (here a job's) has it, and the note goes.
        backend.state.modelsFailure = null
        await startJob(page, backend, image)
        await waitFor(`the list after the failure (${failure})`, async () => JSON.stringify(await pickerOptions(page)) === JSON.stringify(FULL_LIST), 5000)
        assert((await noteText(page)) === '', `${failure}: the note should go with the list back: ${await noteText(page)}`)
        await context.close()
      }
    })

    await test('a hidden tab does not poll the backend; shown again, it checks at once', async () => {
      const backend = mockBackend()
      const { context, page } = await newPage(browser, web, backend)
      await waitFor("the server's model list", async () => JSON.stringify(await pickerOptions(page)) === JSON.stringify(FULL_LIST), 15000)
      // Headless Chromium keeps its one tab visible: the page is told it is hidden as a browser would.
      const setVisibility = (state) =>
        page.evaluate((s) => {
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s })
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' })
          document.dispatchEvent(new Event('visibilitychange'))
        }, state)
      await setVisibility('hidden')
      const hidden = { health: backend.state.healthCalls, models: backend.state.modelsCalls }
      // Longer than the 15 s re-check interval.
      await sleep(16500)
      assert(backend.state.healthCalls === hidden.health && backend.state.modelsCalls === hidden.models, `the hidden tab polled: health ${hidden.health} -> ${backend.state.healthCalls}, models ${hidden.models} -> ${backend.state.modelsCalls}`)
      await setVisibility('visible')
      await waitFor('a check on showing the tab', async () => backend.state.healthCalls > hidden.health && backend.state.modelsCalls > hidden.models, 2000)
      await context.close()
    })
  } finally {
    await browser.close()
  }
}

async function cleanup() {
  for (const child of children) await stop(child)
  rmSync(tmp, { recursive: true, force: true })
}

finish(main, { cleanup })
