import { afterEach, describe, expect, it, vi } from 'vitest'
import { fetchModel, isHtmlAnswer, ModelMissing } from '../src/browser/modelFetch'

const INDEX_HTML = '<!doctype html>\n<html><head><title>Upscaler</title></head><body><div id="root"></div></body></html>'
const ONNX = new Uint8Array([0x08, 0x07, 0x12, 0x07, 0x70, 0x79, 0x74, 0x6f, 0x72, 0x63, 0x68])

function serve(answers: Record<string, () => Response>) {
  vi.stubGlobal('fetch', async (url: string) => {
    const answer = answers[url]
    if (!answer) throw new TypeError('Failed to fetch')
    return answer()
  })
}

afterEach(() => vi.unstubAllGlobals())

describe('isHtmlAnswer', () => {
  it('spots HTML by type or by its first byte', () => {
    expect(isHtmlAnswer('text/html; charset=utf-8')).toBe(true)
    expect(isHtmlAnswer('application/octet-stream', new TextEncoder().encode('\n  <!doctype html>'))).toBe(true)
    expect(isHtmlAnswer('application/octet-stream', ONNX)).toBe(false)
    expect(isHtmlAnswer(null)).toBe(false)
  })
})

describe('fetchModel', () => {
  const backend = 'http://b/api/models/m/onnx'
  const stat = 'http://s/models/m.onnx'

  it('says the model is not installed when the static server answers its HTML fallback with 200', async () => {
    serve({ [stat]: () => new Response(INDEX_HTML, { status: 200, headers: { 'Content-Type': 'text/html' } }) })
    const err = await fetchModel('m', [backend, stat]).catch((e) => e)
    expect(err).toBeInstanceOf(ModelMissing)
    expect(err.model).toBe('m')
    expect(err.message).toMatch(/not installed.*npm run models/)
  })

  it('also when the HTML comes with a binary content type', async () => {
    serve({ [stat]: () => new Response(INDEX_HTML, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } }) })
    await expect(fetchModel('m', [stat])).rejects.toBeInstanceOf(ModelMissing)
  })

  it('uses the next URL that serves a real model', async () => {
    serve({
      [backend]: () => new Response('', { status: 502 }),
      [stat]: () => new Response(ONNX, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } }),
    })
    const got = await fetchModel('m', [backend, stat])
    expect(got.url).toBe(stat)
    expect(new Uint8Array(got.buffer)).toEqual(ONNX)
  })

  it('keeps the plain error when nothing says the model is missing (network down)', async () => {
    serve({})
    const err = await fetchModel('m', [backend]).catch((e) => e)
    expect(err).not.toBeInstanceOf(ModelMissing)
    expect(err.message).toMatch(/could not download model m/)
  })
})
