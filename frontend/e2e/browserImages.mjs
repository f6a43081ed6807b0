#!/usr/bin/env node
/**
 * End-to-end tests of browser mode (onnxruntime-web, realesr-animevideov3) with the odd images a
 * user may drop on the page, held to the backend's rules (README "Images"): the result is 4x the
 * image as the browser shows it (EXIF orientation applied), alpha is kept where the input had it,
 * grey stays grey, an animation gives its first frame, tiny images work, and a file that cannot be
 * read (a truncated JPEG included: Chromium refuses it whole rather than decode its top part) gets
 * a clear, translated message while the page stays usable. A file dropped before the previous one
 * has opened wins, even when the previous one (a big photo) finishes decoding after it; several files
 * dropped at once open the first image, and the page says the others were left out.
 *
 * No backend: /api is refused and config.json and the model are answered by page.route, so the
 * app is built into a temporary folder (or E2E_SKIP_BUILD=1 reuses dist/, read only) and served
 * by vite preview. The images are made with Pillow (skimage.data photos) into a temp folder.
 * Env: PYTHON (default ../.venv/bin/python), CHROMIUM, E2E_DIST=<folder>, E2E_SKIP_BUILD=1,
 * E2E_ONLY=<substring>, E2E_HEADED=1. The scaffolding is in harness.mjs.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { appBuild, assert, browserModelFile, browserModePage, chooseFile, CHROMIUM, CHROMIUM_ARGS, harness, HEADLESS, previewApp, PYTHON, stop } from './harness.mjs'

const tmp = mkdtempSync(join(tmpdir(), 'upscaler-e2e-images-'))
const children = []
const { log, waitFor, test, finish } = harness({ prefix: 'e2e-images', pollMs: 200 })

// The test images: small, so each job is a few tiles of the small model.
const MAKE_IMAGES = String.raw`
import io, struct, sys, zlib
import numpy as np
from PIL import Image
from skimage import data

out = sys.argv[1]
def photo(name, w, h):
    return Image.fromarray(getattr(data, name)()).convert("RGB").resize((w, h), Image.LANCZOS)

# Partial alpha: opaque left third, a ramp, transparent right quarter.
rgba = photo("astronaut", 40, 32).convert("RGBA")
a = np.zeros((32, 40), np.uint8)
a[:, :14] = 255
a[:, 14:30] = np.linspace(255, 0, 16).astype(np.uint8)
rgba.putalpha(Image.fromarray(a))
rgba.save(f"{out}/alpha.png")
# One flat colour under the same alpha: edges must not darken towards the transparent part.
flat = Image.new("RGBA", (40, 32), (230, 140, 30, 255)); flat.putalpha(Image.fromarray(a))
flat.save(f"{out}/alpha_flat.png")

# Palette with tRNS: entry 0 transparent, used by the right half.
p = photo("chelsea", 36, 28).quantize(16)
pa = np.array(p)
pa[pa == 0] = 1
pa[:, 18:] = 0
p2 = Image.fromarray(pa, "P"); p2.putpalette(p.getpalette()); p2.info["transparency"] = 0
p2.save(f"{out}/palette_trns.png", transparency=0)

grey = Image.fromarray(data.camera()).resize((40, 32), Image.LANCZOS)
grey.save(f"{out}/grey.png")
la = Image.merge("LA", (grey, Image.fromarray(a)))
la.save(f"{out}/grey_alpha.png")
Image.fromarray((np.array(grey, np.uint16) * 257).astype(np.uint16)).save(f"{out}/grey16.png")

# 16-bit RGB PNG, written by hand (Pillow writes no 16-bit RGB PNG).
rgb16 = (np.array(photo("coffee", 40, 32), np.uint16) * 257).astype(">u2")
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + row.tobytes() for row in rgb16)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 32, 16, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(f"{out}/rgb16.png", "wb").write(png)

# EXIF orientation: 40x24 stored, a red block in the stored top-left corner.
base = photo("astronaut", 40, 24)
base.paste((255, 0, 0), (0, 0, 10, 10))
for o in (6, 3):
    exif = Image.Exif(); exif[0x0112] = o
    base.save(f"{out}/exif{o}.jpg", quality=95, exif=exif)

# CMYK JPEG: left half pure red, right half pure blue.
rb = Image.new("RGB", (40, 32), (255, 0, 0)); rb.paste((0, 0, 255), (20, 0, 40, 32))
rb.convert("CMYK").save(f"{out}/cmyk.jpg", quality=95)

# Animations: a red first frame, a blue second one.
frames = [Image.new("RGB", (32, 24), c) for c in ((220, 30, 30), (30, 30, 220))]
frames[0].save(f"{out}/anim.gif", save_all=True, append_images=frames[1:], duration=200, loop=0)
frames[0].save(f"{out}/anim.webp", save_all=True, append_images=frames[1:], duration=200, loop=0, lossless=True)

Image.new("RGB", (1, 1), (200, 120, 40)).save(f"{out}/1x1.png")
photo("coffee", 1, 60).save(f"{out}/1x60.png")

full = io.BytesIO(); photo("chelsea", 48, 48).save(full, "PNG")
open(f"{out}/truncated.png", "wb").write(full.getvalue()[: len(full.getvalue()) // 2])
# A JPEG cut short (no FFD9 end marker), cut just before its end marker, and one with bytes
# after the end marker (as some cameras append): the backend refuses the first two (422).
jpg = io.BytesIO(); photo("astronaut", 64, 48).save(jpg, "JPEG", quality=90)
open(f"{out}/truncated.jpg", "wb").write(jpg.getvalue()[: len(jpg.getvalue()) * 2 // 3])
open(f"{out}/no_eoi.jpg", "wb").write(jpg.getvalue()[:-2])
open(f"{out}/trailing.jpg", "wb").write(jpg.getvalue() + b"\0" * 64 + b"camera data")
open(f"{out}/empty.png", "wb").write(b"")
open(f"{out}/drawing.svg", "w").write('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>')
open(f"{out}/notes.png", "w").write("these are my notes, not an image\n")
# Noise does not compress: a PNG that takes a while to decode, next to the 40x32 ones.
Image.fromarray(np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)).save(f"{out}/slow.png", compress_level=1)
`

const count = (page, kind) => page.evaluate((k) => (window.__upscaleEvents ?? []).filter((e) => e.kind === k).length, kind)
// One read in the page: the error may go between a count and a locator read.
const errorText = (page) => page.evaluate(() => document.querySelector('[data-testid=error]')?.innerText ?? '')

/** Load a file as a user would (the file input); returns the error text, '' when it loaded. */
async function load(page, file) {
  await chooseFile(page, join(tmp, file))
  return errorText(page)
}

/** Pixels of an image URL, as stored (no colour conversion, straight alpha). */
function pixelsOf(page, selector) {
  return page.evaluate(async (sel) => {
    const el = document.querySelector(sel)
    const blob = await (await fetch(el.src)).blob()
    const bmp = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' })
    const c = document.createElement('canvas')
    c.width = bmp.width
    c.height = bmp.height
    const ctx = c.getContext('2d')
    ctx.drawImage(bmp, 0, 0)
    const d = ctx.getImageData(0, 0, c.width, c.height).data
    return { width: c.width, height: c.height, natural: [el.naturalWidth, el.naturalHeight], data: Array.from(d) }
  }, selector)
}

/**
 * Drops `files` on the page one after another in one go, as a user dropping a second file before the
 * first has opened, and waits until the app has dealt with each (loaded, refused or put aside).
 */
async function dropInTurn(page, files) {
  const outcomes = () => page.evaluate(() => (window.__upscaleEvents ?? []).filter((e) => ['loaded', 'openFailed', 'superseded'].includes(e.kind)).length)
  const before = await outcomes()
  const payload = files.map((f) => [f, readFileSync(join(tmp, f)).toString('base64')])
  await page.evaluate((payload) => {
    for (const [name, b64] of payload) {
      const data = new DataTransfer()
      data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: name.endsWith('.png') ? 'image/png' : '' }))
      document.body.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }))
    }
  }, payload)
  await waitFor(`the app to deal with ${files.join(', ')}`, async () => (await outcomes()) >= before + files.length, 30000)
}

const shownName = (page) => page.evaluate(() => document.querySelector('.source-meta strong')?.textContent ?? '')

/** What the browser shows for the dropped file: its <img> size (EXIF orientation applied). */
const shownSize = (page) =>
  page.evaluate(async () => {
    const img = document.querySelector('.source-thumb')
    await img.decode()
    return [img.naturalWidth, img.naturalHeight]
  })

/** Load, upscale x4, and read the result back. */
async function upscale(page, file) {
  const err = await load(page, file)
  assert(!err, `${file} did not load: ${err}`)
  const shown = await shownSize(page)
  const before = await count(page, 'result')
  await page.getByTestId('start').click()
  await waitFor(`the result of ${file}`, async () => (await count(page, 'result')) > before || (await errorText(page)), 60000)
  const err2 = await errorText(page)
  assert(!err2, `error instead of a result for ${file}: ${err2}`)
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=result-image]')
    return el && el.complete && el.naturalWidth > 0
  }, null, { timeout: 10000 })
  const px = await pixelsOf(page, '[data-testid=result-image]')
  return { shown, ...px }
}

const at = (img, x, y) => img.data.slice(4 * (y * img.width + x), 4 * (y * img.width + x) + 4)
function mean(img, x0, y0, x1, y1) {
  const s = [0, 0, 0, 0]
  let n = 0
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const p = at(img, x, y)
      for (let i = 0; i < 4; i++) s[i] += p[i]
      n++
    }
  return s.map((v) => Math.round(v / n))
}
function assertSize(r, file, w, h) {
  assert(r.width === w && r.height === h && r.natural[0] === w && r.natural[1] === h, `${file}: result ${r.width}x${r.height} (shown ${r.natural}), expected ${w}x${h}`)
}
function maxChannelSpread(img) {
  let m = 0
  for (let i = 0; i < img.data.length; i += 4)
    m = Math.max(m, Math.abs(img.data[i] - img.data[i + 1]), Math.abs(img.data[i + 1] - img.data[i + 2]))
  return m
}

async function main() {
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`)
  const dist = appBuild(tmp, log)
  const modelPath = browserModelFile(dist)
  const py = spawnSync(PYTHON, ['-c', MAKE_IMAGES, tmp], { stdio: 'inherit' })
  assert(py.status === 0, 'could not write the test images')

  const { web, child: preview } = await previewApp(dist, waitFor)
  children.push(preview)

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: HEADLESS })
  try {
    const { context, page, pageErrors } = await browserModePage(browser, web, modelPath, { log })

    await test('alpha is kept: partial alpha PNG, palette PNG with tRNS, grey+alpha PNG', async () => {
      const r = await upscale(page, 'alpha.png')
      assertSize(r, 'alpha.png', 160, 128)
      const opaque = mean(r, 4, 4, 48, 124)[3]
      const clear = mean(r, 128, 4, 156, 124)[3]
      const ramp = at(r, 88, 64)[3]
      assert(opaque >= 250 && clear <= 5 && ramp > 60 && ramp < 200, `alpha.png: alpha opaque ${opaque}, transparent ${clear}, ramp ${ramp}`)
      const f = await upscale(page, 'alpha_flat.png')
      assertSize(f, 'alpha_flat.png', 160, 128)
      // Where the image is still visible (alpha >= 32), its colour is the input's, without a dark fringe.
      let worst = 0
      let where = null
      for (let y = 8; y < 120; y++)
        for (let x = 0; x < 160; x++) {
          const [r, g, b, alpha] = at(f, x, y)
          const d = Math.max(Math.abs(r - 230), Math.abs(g - 140), Math.abs(b - 30))
          if (alpha >= 32 && d > worst) [worst, where] = [d, [x, y, r, g, b, alpha]]
        }
      log(`  alpha_flat.png: worst colour difference ${worst} at ${where}`)
      assert(worst <= 24, `alpha_flat.png: the colour drifts by ${worst} where alpha >= 32 (x, y, r, g, b, a = ${where})`)
      const p = await upscale(page, 'palette_trns.png')
      assertSize(p, 'palette_trns.png', 144, 112)
      const pa = [mean(p, 4, 4, 64, 108)[3], mean(p, 80, 4, 140, 108)[3]]
      assert(pa[0] >= 250 && pa[1] <= 5, `palette_trns.png: alpha left ${pa[0]}, right ${pa[1]}`)
      const la = await upscale(page, 'grey_alpha.png')
      assertSize(la, 'grey_alpha.png', 160, 128)
      const laA = [mean(la, 4, 4, 48, 124)[3], mean(la, 128, 4, 156, 124)[3]]
      assert(laA[0] >= 250 && laA[1] <= 5, `grey_alpha.png: alpha opaque ${laA[0]}, transparent ${laA[1]}`)
    })

    await test('grey stays grey: grey, 16-bit grey and grey+alpha PNG', async () => {
      for (const file of ['grey.png', 'grey16.png', 'grey_alpha.png']) {
        const r = await upscale(page, file)
        assertSize(r, file, 160, 128)
        const spread = maxChannelSpread(r)
        assert(spread === 0, `${file}: the result has colour (R, G, B differ by up to ${spread})`)
      }
    })

    await test('EXIF orientation 6 and 3 applied as the browser shows the image', async () => {
      const r6 = await upscale(page, 'exif6.jpg')
      assert(r6.shown[0] === 24 && r6.shown[1] === 40, `exif6.jpg is shown ${r6.shown}, expected 24x40`)
      assertSize(r6, 'exif6.jpg', 96, 160)
      // Orientation 6 is a quarter turn clockwise: the stored top-left block is at the top right.
      const tr = mean(r6, 66, 4, 92, 30)
      assert(tr[0] > 180 && tr[1] < 80 && tr[2] < 80, `exif6.jpg: the red block should be top right, got ${tr}`)
      const r3 = await upscale(page, 'exif3.jpg')
      assertSize(r3, 'exif3.jpg', 160, 96)
      const br = mean(r3, 134, 70, 156, 92)
      assert(br[0] > 180 && br[1] < 80 && br[2] < 80, `exif3.jpg: the red block should be bottom right, got ${br}`)
    })

    await test('CMYK JPEG and 16-bit RGB PNG', async () => {
      const c = await upscale(page, 'cmyk.jpg')
      assertSize(c, 'cmyk.jpg', 160, 128)
      const [red, blue] = [mean(c, 8, 8, 72, 120), mean(c, 88, 8, 152, 120)]
      assert(red[0] > 180 && red[2] < 80 && blue[2] > 180 && blue[0] < 80, `cmyk.jpg: colours ${red} | ${blue}`)
      assert(c.data.every((v, i) => i % 4 !== 3 || v === 255), 'cmyk.jpg: the result should be opaque')
      const r16 = await upscale(page, 'rgb16.png')
      assertSize(r16, 'rgb16.png', 160, 128)
      assert(maxChannelSpread(r16) > 20, 'rgb16.png: the result should be in colour')
    })

    await test('animated GIF and WebP give their first frame', async () => {
      for (const file of ['anim.gif', 'anim.webp']) {
        const r = await upscale(page, file)
        assertSize(r, file, 128, 96)
        assert(await page.getByTestId('animated-note').isVisible(), `${file}: no note that only the first frame is upscaled`)
        const m = mean(r, 8, 8, 120, 88)
        assert(m[0] > 180 && m[2] < 80, `${file}: the result should be the red first frame, got ${m}`)
      }
    })

    await test('a 1x1 and a 1x60 image', async () => {
      const r1 = await upscale(page, '1x1.png')
      assertSize(r1, '1x1.png', 4, 4)
      const m = mean(r1, 0, 0, 4, 4)
      assert(Math.abs(m[0] - 200) < 40 && Math.abs(m[1] - 120) < 40 && Math.abs(m[2] - 40) < 40, `1x1.png: colour ${m}, expected about 200,120,40`)
      const r60 = await upscale(page, '1x60.png')
      assertSize(r60, '1x60.png', 4, 240)
    })

    await test('unreadable files: a clear message, the previous image kept, the page still usable', async () => {
      await upscale(page, 'alpha.png')
      for (const file of ['truncated.png', 'truncated.jpg', 'no_eoi.jpg', 'empty.png', 'drawing.svg', 'notes.png']) {
        const err = await load(page, file)
        assert(err, `${file}: no error shown`)
        log(`  ${file}: ${err.replace(/\n/g, " / ")}`)
        assert(err.includes(file) && /Could not open/.test(err), `${file}: unclear message: ${err}`)
        assert(!/undefined|\{name\}|Error:|DOMException|InvalidStateError/.test(err), `${file}: raw text in the message: ${err}`)
        const [w, h] = await shownSize(page)
        assert(w === 40 && h === 32, `${file}: the previous image should be kept, shown is ${w}x${h}`)
      }
      const r = await upscale(page, '1x60.png')
      assertSize(r, '1x60.png', 4, 240)
      assert(!(await errorText(page)), 'the error should go with the next image')
      assert(!pageErrors.length, `uncaught errors in the page: ${pageErrors.join('; ')}`)
    })

    await test('a file dropped before the previous one has opened: the last one counts', async () => {
      await upscale(page, 'alpha.png')
      // A big photo, then at once the right one: the big one opens last, but the page shows the right one.
      await dropInTurn(page, ['slow.png', 'grey.png'])
      assert((await shownName(page)) === 'grey.png', `shown is ${await shownName(page)} after dropping slow.png then grey.png`)
      const [w, h] = await shownSize(page)
      assert(w === 40 && h === 32, `the thumbnail is ${w}x${h}, not grey.png's 40x32`)
      assert(!(await errorText(page)), `no error expected: ${await errorText(page)}`)
      // A big photo, then at once a file that cannot be read: its message, and the image before both kept.
      await dropInTurn(page, ['slow.png', 'notes.png'])
      const err = await errorText(page)
      assert(err.includes('notes.png'), `the unreadable file's message should show, shows: ${err}`)
      assert((await shownName(page)) === 'grey.png', `the image before both should be kept, shown is ${await shownName(page)}`)
      assert(!pageErrors.length, `uncaught errors in the page: ${pageErrors.join('; ')}`)
    })

    await test('several files dropped at once: one image opens, and the page says the others were left out', async () => {
      const before = await count(page, 'loaded')
      const payload = ['notes.png', 'alpha.png', 'grey.png'].map((f) => [f, readFileSync(join(tmp, f)).toString('base64')])
      await page.evaluate((payload) => {
        const data = new DataTransfer()
        for (const [name, b64] of payload) data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: name === 'notes.png' ? 'text/plain' : 'image/png' }))
        document.body.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }))
      }, payload)
      await waitFor('the dropped image to load', async () => (await count(page, 'loaded')) > before, 15000)
      assert((await shownName(page)) === 'alpha.png', `the first image dropped should open, shown is ${await shownName(page)}`)
      const info = await page.evaluate(() => document.querySelector('[data-testid=info]')?.innerText ?? '')
      assert(/only the first image/i.test(info), `the page should say only one image was opened, says: "${info}"`)
      // The next image opened is one on its own: the line goes.
      await load(page, 'grey.png')
      assert(!(await page.getByTestId('info').count()), 'the line should go with the next image')
    })

    await test('a JPEG with bytes after its end marker loads and upscales', async () => {
      const r = await upscale(page, 'trailing.jpg')
      assertSize(r, 'trailing.jpg', 256, 192)
    })

    await test('unreadable file in Chinese: the message is translated', async () => {
      const zh = await browserModePage(browser, web, modelPath, { locale: 'zh-CN', log })
      try {
        const err = await load(zh.page, 'truncated.png')
        assert(/无法打开/.test(err) && err.includes('truncated.png') && !/Could not/.test(err), `zh-CN message: ${err}`)
      } finally {
        await zh.context.close()
      }
    })
    await context.close()
  } finally {
    await browser.close()
  }
}

async function cleanup() {
  for (const child of children) await stop(child)
  rmSync(tmp, { recursive: true, force: true })
}

finish(main, { cleanup })
