#!/usr/bin/env node
/**
 * Accessibility audit of the web UI with axe-core in real headless Chromium, in each state a user
 * meets: the empty page, an image loaded, a job running (progress shown), a result (compare
 * slider and download), an error (a file that is not an image), the limit warning and a cancelled
 * job (in the Chinese UI), and a 375x700 phone viewport (where the page must also reflow without sideways scrolling, WCAG 1.4.10,
 * with a long Unicode file name without spaces in the picker and the download link). axe
 * runs the WCAG 2.0/2.1/2.2 A and AA rules plus its best practices; every violation is printed with
 * its selectors, and any of impact "serious" or "critical" fails the test. Text over a gradient,
 * which axe leaves to review, gets a second contrast pass with each gradient at its lightest stop.
 *
 * Keyboard: Tab reaches the file chooser (and Enter opens it: a file that fails to open leaves the
 * focus on it, an image that loads hands it to Start as the chooser goes, WCAG 2.4.3), the model
 * and scale pickers (Shift+Tab from Start), Start, the compare slider and the result's download
 * link, and each shows a focus indicator that can be seen: a screenshot around it focused and
 * blurred must differ by a ring's worth of pixels. Start hands the focus to Cancel, and Cancel back
 * to Start when the job ends; the limit warning takes the focus when it opens and gives it to Start
 * (go back, or Escape) or Cancel (continue) when it closes. An image pasted or dropped hands a lost focus to
 * Start too, and leaves it on a control that is still there (the model picker); pasted with the page
 * scrolled down to a result, Start is scrolled back into view with the focus (WCAG 2.4.11). "New image" (Enter,
 * after a result) hands the focus to the file chooser that takes the image's place.
 *
 * Browser mode, no backend (as browserImages.mjs): /api is refused, config.json and the model are
 * answered by page.route; the model's answer is held back to keep a job on screen while axe runs.
 * The app is built into a temporary folder (or E2E_SKIP_BUILD=1 reuses dist/, read only) and
 * served by vite preview; the photo is made with Pillow (skimage.data) into a temp folder.
 * Env: PYTHON (default ../.venv/bin/python), CHROMIUM, E2E_DIST=<folder>, E2E_SKIP_BUILD=1,
 * E2E_ONLY=<substring>, E2E_HEADED=1. The scaffolding is in harness.mjs.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { appBuild, assert, browserModelFile, browserModePage, chooseFile, CHROMIUM, CHROMIUM_ARGS, harness, HEADLESS, previewApp, PYTHON, stop } from './harness.mjs'

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
// WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices (landmarks, headings...).
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa', 'best-practice']
const FAILING_IMPACTS = ['serious', 'critical']

const tmp = mkdtempSync(join(tmpdir(), 'upscaler-e2e-a11y-'))
const children = []
const { log, waitFor, test, finish } = harness({ prefix: 'e2e-a11y', pollMs: 200 })

const MAKE_IMAGES = String.raw`
import sys
from PIL import Image
from skimage import data
out = sys.argv[1]
Image.fromarray(data.astronaut()).convert("RGB").resize((64, 48), Image.LANCZOS).save(f"{out}/astronaut.jpg", quality=92)
# 2560x1920 at 4x, over the 4 MP that makes the browser warn before a job.
Image.fromarray(data.astronaut()).convert("RGB").resize((640, 480), Image.LANCZOS).save(f"{out}/big.jpg", quality=85)
open(f"{out}/notes.png", "w").write("these are my notes, not an image\n")
`

/** A browser-mode page (harness) with axe-core loaded; the model is held back until releaseModel(). */
async function newPage(browser, web, modelPath, options = {}) {
  const opened = await browserModePage(browser, web, modelPath, { ...options, holdModel: true, log })
  await opened.page.addScriptTag({ content: AXE_SOURCE })
  return opened
}

/** axe on the whole page: prints every violation (any impact) and fails on serious or critical ones. */
async function audit(page, state) {
  const { violations, incomplete } = await page.evaluate(
    async (tags) => {
      const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] })
      const brief = (list) =>
        list.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 240) })),
        }))
      return { violations: brief(r.violations), incomplete: brief(r.incomplete) }
    },
    AXE_TAGS,
  )
  // axe cannot judge text over a gradient (it leaves it "needs review"): a second pass of the
  // contrast rule with each gradient replaced by its lightest opaque stop, the worst case for the
  // light text this dark UI puts on all of them (translucent ones, the 3% checkerboards behind
  // images, are just removed). The stops are read from the computed styles, so this follows the CSS.
  const flat = await page.evaluate(async () => {
    const lum = ([r, g, b]) => [r, g, b].map((v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)).reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0)
    const saved = []
    for (const el of document.querySelectorAll('*')) {
      const image = getComputedStyle(el).backgroundImage
      if (!image.includes('gradient')) continue
      const stops = [...image.matchAll(/rgba?\(([^)]+)\)/g)].map((m) => m[1].split(/[\s,/]+/).filter(Boolean).map(Number))
      const opaque = stops.filter((c) => c.length < 4 || c[3] >= 0.5)
      saved.push([el, el.style.cssText])
      el.style.setProperty('background-image', 'none', 'important')
      if (opaque.length) {
        const [r, g, b] = opaque.reduce((a, c) => (lum(c) > lum(a) ? c : a))
        el.style.setProperty('background-color', `rgb(${r}, ${g}, ${b})`, 'important')
      }
    }
    try {
      const r = await window.axe.run(document, { runOnly: { type: 'rule', values: ['color-contrast'] }, resultTypes: ['violations'] })
      return r.violations.map((v) => ({
        id: `${v.id} (gradients flattened)`,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 240) })),
      }))
    } finally {
      for (const [el, css] of saved) el.style.cssText = css
    }
  })
  violations.push(...flat)
  for (const v of violations) {
    log(`  [${state}] violation ${v.id} (${v.impact}): ${v.help}`)
    for (const n of v.nodes) log(`      ${n.target} :: ${n.summary}`)
  }
  // "Needs review" (axe could not decide, e.g. text over a gradient or an image): listed, not failed.
  for (const v of incomplete) log(`  [${state}] needs review ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target).join(', ')}`)
  const bad = violations.filter((v) => FAILING_IMPACTS.includes(v.impact))
  assert(!bad.length, `${state}: ${bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target).join(', ')}`).join('; ')}`)
  if (!violations.length) log(`  [${state}] no violations`)
}

/** WCAG 1.4.10: nothing wider than the viewport, so a phone never scrolls sideways. */
async function assertReflows(page, state) {
  const { scroll, client, wide } = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 1)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`)
    return { scroll: document.documentElement.scrollWidth, client: vw, wide: wide.slice(0, 5) }
  })
  assert(scroll <= client, `${state}: the page is ${scroll}px wide in a ${client}px viewport (${wide.join(', ')})`)
}

const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return 'body'
    return el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : `${el.tagName.toLowerCase()}${el.className ? `.${el.className.split(' ').join('.')}` : ''}`
  })

/** Presses Tab (or `key`, e.g. Shift+Tab) until the focused element matches `selector`; returns what focus passed through. */
async function tabTo(page, selector, max = 25, key = 'Tab') {
  const path = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key)
    path.push(await focused(page))
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return path
  }
  throw new Error(`${key} never reached ${selector}; focus went ${path.join(' → ')}`)
}

/** Pixels that differ clearly (any channel by more than 40) between two PNG screenshots of the same size. */
function changedPixels(page, a, b) {
  return page.evaluate(
    async ([a64, b64]) => {
      const read = async (b) => {
        const bmp = await createImageBitmap(await (await fetch(`data:image/png;base64,${b}`)).blob())
        const c = new OffscreenCanvas(bmp.width, bmp.height)
        const ctx = c.getContext('2d')
        ctx.drawImage(bmp, 0, 0)
        return ctx.getImageData(0, 0, bmp.width, bmp.height).data
      }
      const [x, y] = [await read(a64), await read(b64)]
      let n = 0
      for (let i = 0; i < x.length; i += 4)
        if (Math.max(Math.abs(x[i] - y[i]), Math.abs(x[i + 1] - y[i + 1]), Math.abs(x[i + 2] - y[i + 2])) > 40) n++
      return n
    },
    [a.toString('base64'), b.toString('base64')],
  )
}

/**
 * The focused element shows that it has focus: a screenshot of it and 8px around, focused (by the
 * keyboard, so :focus-visible applies) and blurred, differs by at least a 1px ring around it.
 */
async function assertFocusVisible(page, what) {
  const box = await page.evaluate(() => {
    const r = document.activeElement.getBoundingClientRect()
    return { x: r.x, y: r.y, width: r.width, height: r.height, vw: innerWidth, vh: innerHeight, fv: document.activeElement.matches(':focus-visible') }
  })
  assert(box.fv, `${what}: focused by the keyboard but not :focus-visible`)
  const x = Math.max(0, Math.floor(box.x - 8))
  const y = Math.max(0, Math.floor(box.y - 8))
  const clip = { x, y, width: Math.min(box.vw, Math.ceil(box.x + box.width + 8)) - x, height: Math.min(box.vh, Math.ceil(box.y + box.height + 8)) - y }
  const withFocus = await page.screenshot({ clip })
  await page.evaluate(() => {
    window.__a11yFocused = document.activeElement
    document.activeElement.blur()
  })
  const without = await page.screenshot({ clip })
  await page.evaluate(() => window.__a11yFocused.focus())
  const changed = await changedPixels(page, withFocus, without)
  const ring = Math.round(box.width + box.height)
  log(`  focus on ${what}: ${changed} pixels change (needs ${ring})`)
  assert(changed >= ring, `${what}: no visible focus indicator (${changed} pixels change with focus, needs ${ring})`)
}

const count = (page, kind) => page.evaluate((k) => (window.__upscaleEvents ?? []).filter((e) => e.kind === k).length, kind)

/** Pastes (a paste event on the focused element) or drops (on the page body) an image file, and waits for it to load. */
async function pasteOrDrop(page, how, path) {
  const before = await count(page, 'loaded')
  await page.evaluate(
    ([how, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const data = new DataTransfer()
      data.items.add(new File([bytes], 'astronaut.jpg', { type: 'image/jpeg' }))
      const target = how === 'paste' ? document.activeElement ?? document.body : document.body
      const init = { bubbles: true, cancelable: true }
      target.dispatchEvent(how === 'paste' ? new ClipboardEvent('paste', { ...init, clipboardData: data }) : new DragEvent('drop', { ...init, dataTransfer: data }))
    },
    [how, readFileSync(path).toString('base64')],
  )
  await waitFor(`the ${how}d image to load`, async () => (await count(page, 'loaded')) > before, 15000)
  await page.locator('.source-thumb').waitFor()
}

/** Starts a job with the model held back: waits for the progress card, audits it, then lets the job finish. */
async function jobThenResult(page, releaseModel, state, start) {
  const before = await count(page, 'result')
  await start()
  await page.getByTestId('progress').waitFor({ timeout: 10000 })
  await audit(page, `${state}: job running`)
  releaseModel()
  await waitFor('the result', async () => (await count(page, 'result')) > before || (await page.getByTestId('error').count()), 60000)
  const err = await page.evaluate(() => document.querySelector('[data-testid=error]')?.innerText ?? '')
  assert(!err, `error instead of a result: ${err}`)
  await page.waitForFunction(() => document.querySelector('[data-testid=result-image]')?.complete, null, { timeout: 10000 })
}

async function main() {
  const t0 = Date.now()
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`)
  const dist = appBuild(tmp, log)
  const modelPath = browserModelFile(dist)
  const py = spawnSync(PYTHON, ['-c', MAKE_IMAGES, tmp], { stdio: 'inherit' })
  assert(py.status === 0, 'could not write the test images')
  const photo = join(tmp, 'astronaut.jpg')

  const { web, child: preview } = await previewApp(dist, waitFor)
  children.push(preview)
  const tReady = Date.now()

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: HEADLESS })
  try {
    const { context, page, pageErrors, releaseModel } = await newPage(browser, web, modelPath)
    // Playwright turns file-chooser interception on when the first listener is added, and not at
    // once: a listener from the start, so the Enter below never opens the dialog before it is on.
    page.on('filechooser', () => {})

    await test('empty page, image loaded, job running, result, error (English, desktop), by keyboard', async () => {
      assert((await page.evaluate(() => document.documentElement.lang)) === 'en', 'html lang should be en')
      await audit(page, 'empty page')

      // The file chooser: reached by Tab, opened by Enter.
      log(`  Tab: ${(await tabTo(page, '[data-testid=dropzone]')).join(' → ')}`)
      await assertFocusVisible(page, 'the file chooser (dropzone)')
      // A file that cannot be opened: the error shows, the dropzone stays and keeps the focus.
      const [notAnImage] = await Promise.all([page.waitForEvent('filechooser', { timeout: 5000 }), page.keyboard.press('Enter')])
      const failedBefore = await count(page, 'openFailed')
      await notAnImage.setFiles(join(tmp, 'notes.png'))
      await waitFor('the file to fail to open', async () => (await count(page, 'openFailed')) > failedBefore, 15000)
      await page.getByTestId('error').waitFor()
      assert((await focused(page)) === '[data-testid=dropzone]', `focus after a failed open is on ${await focused(page)}, not the file chooser`)
      await assertFocusVisible(page, 'the file chooser after a failed open')
      // The photo: the dropzone gives way to the thumbnail and hands the focus to Upscale (WCAG 2.4.3).
      const [chooser] = await Promise.all([page.waitForEvent('filechooser', { timeout: 5000 }), page.keyboard.press('Enter')])
      const loadedBefore = await count(page, 'loaded')
      await chooser.setFiles(photo)
      await waitFor('the photo to load', async () => (await count(page, 'loaded')) > loadedBefore, 15000)
      await page.locator('.source-thumb').waitFor()
      // The hand-over runs in an effect after the render that put the thumbnail in: a moment to come.
      await waitFor('the focus on Upscale', async () => (await focused(page)) === '[data-testid=start]', 3000).catch(() => {})
      assert((await focused(page)) === '[data-testid=start]', `focus after the photo loaded is on ${await focused(page)}, not Upscale`)
      await assertFocusVisible(page, 'start (after the photo loaded)')
      await audit(page, 'image loaded')

      // Back from Upscale to the pickers, and forward to it again.
      for (const id of ['scale', 'model']) {
        log(`  Shift+Tab: ${(await tabTo(page, `[data-testid=${id}]`, 25, 'Shift+Tab')).join(' → ')}`)
        await assertFocusVisible(page, id)
      }
      log(`  Tab: ${(await tabTo(page, '[data-testid=start]')).join(' → ')}`)
      await assertFocusVisible(page, 'start')
      // Upscale and Cancel take each other's place; the focus goes with them, not to the page.
      await jobThenResult(page, releaseModel, 'desktop', async () => {
        await page.keyboard.press('Enter')
        await page.getByTestId('cancel').waitFor()
        assert((await focused(page)) === '[data-testid=cancel]', `focus after Start is on ${await focused(page)}, not Cancel`)
        await assertFocusVisible(page, 'cancel')
      })
      await page.getByTestId('start').waitFor()
      assert((await focused(page)) === '[data-testid=start]', `focus after the job is on ${await focused(page)}, not Upscale`)
      await audit(page, 'result shown')

      log(`  Tab: ${(await tabTo(page, '.compare-range')).join(' → ')}`)
      await assertFocusVisible(page, 'the compare slider')
      log(`  Tab: ${(await tabTo(page, '[data-testid=download]')).join(' → ')}`)
      await assertFocusVisible(page, 'the result download')

      await chooseFile(page, join(tmp, 'notes.png'))
      await page.getByTestId('error').waitFor()
      await audit(page, 'error shown')

      // "New image" goes with the image it puts away: the focus goes to the file chooser (WCAG 2.4.3).
      log(`  Shift+Tab: ${(await tabTo(page, '[data-testid=reset]', 25, 'Shift+Tab')).join(' → ')}`)
      await page.keyboard.press('Enter')
      await page.getByTestId('dropzone').waitFor()
      // The hand-over runs in an effect after the render that put the dropzone in: a moment to come.
      await waitFor('the focus on the file chooser', async () => (await focused(page)) === '[data-testid=dropzone]', 3000).catch(() => {})
      assert((await focused(page)) === '[data-testid=dropzone]', `focus after "New image" is on ${await focused(page)}, not the file chooser`)
      await assertFocusVisible(page, 'the file chooser (after "New image")')
      await audit(page, 'after "New image"')
      assert(!pageErrors.length, `uncaught errors in the page: ${pageErrors.join('; ')}`)
    })
    await context.close()

    await test('Chinese UI: empty page, image loaded, error, limit warning and a cancelled job, by keyboard', async () => {
      const zh = await newPage(browser, web, modelPath, { locale: 'zh-CN' })
      try {
        const lang = await zh.page.evaluate(() => document.documentElement.lang)
        assert(lang === 'zh-CN', `html lang should be zh-CN, is ${lang}`)
        await audit(zh.page, 'zh-CN empty page')
        await chooseFile(zh.page, photo)
        await audit(zh.page, 'zh-CN image loaded')
        await chooseFile(zh.page, join(tmp, 'notes.png'))
        await zh.page.getByTestId('error').waitFor()
        await audit(zh.page, 'zh-CN error shown')

        // The limit warning is an alert dialog that takes the focus ("Go back") and gives it back.
        const p = zh.page
        await chooseFile(p, join(tmp, 'big.jpg'))
        await tabTo(p, '[data-testid=start]')
        await p.keyboard.press('Enter')
        await p.getByTestId('limit-warning').waitFor()
        assert((await focused(p)) === '[data-testid=warn-back]', `the limit warning opened with the focus on ${await focused(p)}`)
        await assertFocusVisible(p, 'the limit warning (go back)')
        await audit(p, 'zh-CN limit warning')
        await p.keyboard.press('Enter')
        await p.getByTestId('limit-warning').waitFor({ state: 'detached' })
        assert((await focused(p)) === '[data-testid=start]', `after "go back" the focus is on ${await focused(p)}, not Upscale`)
        // Escape goes back too, as in any dialog (WAI-ARIA APG), with the focus on Upscale again.
        await p.keyboard.press('Enter')
        await p.getByTestId('limit-warning').waitFor()
        await p.keyboard.press('Escape')
        await p.getByTestId('limit-warning').waitFor({ state: 'detached', timeout: 3000 })
        assert((await focused(p)) === '[data-testid=start]', `after Escape the focus is on ${await focused(p)}, not Upscale`)
        // Again, and go on: the job starts (the model is held back) with the focus on Cancel...
        await p.keyboard.press('Enter')
        await p.getByTestId('limit-warning').waitFor()
        await p.keyboard.press('Shift+Tab')
        assert((await focused(p)) === '[data-testid=warn-continue]', `Shift+Tab from "go back" went to ${await focused(p)}`)
        await p.keyboard.press('Enter')
        await p.getByTestId('progress').waitFor()
        assert((await focused(p)) === '[data-testid=cancel]', `after "continue" the focus is on ${await focused(p)}, not Cancel`)
        // ...which cancels it and hands the focus back to Upscale; "cancelled" is a status line.
        await p.keyboard.press('Enter')
        await p.getByTestId('info').waitFor()
        assert((await focused(p)) === '[data-testid=start]', `after cancelling the focus is on ${await focused(p)}, not Upscale`)
        await audit(p, 'zh-CN cancelled')
      } finally {
        await zh.context.close()
      }
    })

    await test('pasted and dropped images: the focus goes to Upscale when it was lost, and stays on a control that is still there', async () => {
      const d = await newPage(browser, web, modelPath)
      try {
        const p = d.page
        const onStart = () => waitFor('the focus on Upscale', async () => (await focused(p)) === '[data-testid=start]', 3000).catch(() => {})
        // Pasted on the dropzone (which goes): to Upscale.
        await tabTo(p, '[data-testid=dropzone]')
        await pasteOrDrop(p, 'paste', photo)
        await onStart()
        assert((await focused(p)) === '[data-testid=start]', `focus after pasting on the dropzone is on ${await focused(p)}, not Upscale`)
        // Pasted while on the model picker: the focus is the user's and stays there.
        await tabTo(p, '[data-testid=model]', 25, 'Shift+Tab')
        await pasteOrDrop(p, 'paste', photo)
        await p.waitForTimeout(300)
        assert((await focused(p)) === '[data-testid=model]', `pasting on the model picker moved the focus to ${await focused(p)}`)
        // Dropped with the focus on the page (nothing focused): to Upscale.
        await p.evaluate(() => document.activeElement?.blur())
        await pasteOrDrop(p, 'drop', photo)
        await onStart()
        assert((await focused(p)) === '[data-testid=start]', `focus after a drop on the page is on ${await focused(p)}, not Upscale`)
        assert(!d.pageErrors.length, `uncaught errors in the page: ${d.pageErrors.join('; ')}`)
      } finally {
        await d.context.close()
      }
    })

    await test('a paste with the result shown and the page scrolled down: the focus goes to Upscale, scrolled into view', async () => {
      // A short viewport (a small phone, or one with its on-screen keyboard up): the result is far below Upscale.
      const s = await newPage(browser, web, modelPath, { viewport: { width: 375, height: 420 } })
      try {
        const p = s.page
        s.releaseModel()
        await chooseFile(p, photo)
        const before = await count(p, 'result')
        await p.getByTestId('start').click()
        await waitFor('the result', async () => (await count(p, 'result')) > before, 60000)
        // The user scrolls down to the result, the focus on the page (a click on it), and pastes (Ctrl+V).
        await p.evaluate(() => {
          document.activeElement?.blur()
          window.scrollTo(0, document.documentElement.scrollHeight)
        })
        const startBox = () => p.evaluate(() => document.querySelector('[data-testid=start]').getBoundingClientRect().toJSON())
        const hidden = await startBox()
        assert(hidden.bottom <= 0, `the test needs Upscale scrolled out of view before the paste; it is at ${JSON.stringify(hidden)}`)
        await pasteOrDrop(p, 'paste', photo)
        await waitFor('the focus on Upscale', async () => (await focused(p)) === '[data-testid=start]', 3000).catch(() => {})
        assert((await focused(p)) === '[data-testid=start]', `focus after the paste is on ${await focused(p)}, not Upscale`)
        // WCAG 2.4.11: the focus must be where the user can see it, its ring (2px, 2px off) included.
        const box = await startBox()
        const vh = await p.evaluate(() => innerHeight)
        assert(box.top >= 4 && box.bottom <= vh - 4, `the focused Upscale or its ring is out of view (top ${box.top}, bottom ${box.bottom}, viewport ${vh} px high)`)
        await assertFocusVisible(p, 'Upscale (after the paste)')
        assert(!s.pageErrors.length, `uncaught errors in the page: ${s.pageErrors.join('; ')}`)
      } finally {
        await s.context.close()
      }
    })

    await test('phone viewport 375x700: empty page, job running and result, no sideways scrolling (a long Unicode file name too)', async () => {
      const m = await newPage(browser, web, modelPath, { viewport: { width: 375, height: 700 } })
      // A phone's photos can have long names without spaces, which no line break can shorten.
      const longName = join(tmp, `Ünïcødé_фото_照片_😀_${'a_very_long_file_name_without_spaces'.repeat(4)}.jpg`)
      copyFileSync(photo, longName)
      try {
        await audit(m.page, 'mobile empty page')
        await assertReflows(m.page, 'mobile empty page')
        await chooseFile(m.page, longName)
        await assertReflows(m.page, 'mobile image loaded')
        await jobThenResult(m.page, m.releaseModel, 'mobile', () => m.page.getByTestId('start').click())
        await audit(m.page, 'mobile result shown')
        await assertReflows(m.page, 'mobile result shown')
        await chooseFile(m.page, join(tmp, 'notes.png'))
        await m.page.getByTestId('error').waitFor()
        await assertReflows(m.page, 'mobile error shown')
      } finally {
        await m.context.close()
      }
    })
  } finally {
    await browser.close()
  }
  log(`audit took ${((Date.now() - tReady) / 1000).toFixed(1)}s after the build and server (${((Date.now() - t0) / 1000).toFixed(1)}s in all)`)
}

async function cleanup() {
  for (const child of children) await stop(child)
  rmSync(tmp, { recursive: true, force: true })
}

finish(main, { cleanup })
