import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../src/config'
import { BackendUnreachable, errorFromResponse, getHealth, isReady, parseProgress } from '../src/server'

describe('parseProgress', () => {
  it('reads job snapshots', () => {
    const p = parseProgress({ state: 'running', progress: 37.5, tiles_done: 3, tiles_total: 8, eta_seconds: 4.2, device: 'cuda' }, 'sse')
    expect(p).toMatchObject({ state: 'running', progress: 37.5, tilesDone: 3, tilesTotal: 8, eta: 4.2, device: 'cuda', source: 'sse' })
  })
  it('derives progress from tiles and forces 100 on success', () => {
    expect(parseProgress({ status: 'running', tiles_done: 1, tiles_total: 4 }, 'poll')?.progress).toBe(25)
    expect(parseProgress({ state: 'succeeded', progress: 90 }, 'poll')?.progress).toBe(100)
  })
  it('reads errors in several shapes', () => {
    expect(parseProgress({ state: 'failed', error: { detail: 'boom', code: 'out_of_memory' } }, 'sse')).toMatchObject({
      errorMessage: 'boom',
      errorCode: 'out_of_memory',
    })
    expect(parseProgress({ state: 'failed', error_message: 'bad', error_code: 'x' }, 'sse')).toMatchObject({ errorMessage: 'bad', errorCode: 'x' })
  })
})

describe('errorFromResponse', () => {
  it('shows the backend detail and code', async () => {
    const res = new Response(JSON.stringify({ detail: 'image too large', code: 'image_too_large' }), { status: 413 })
    const err = await errorFromResponse(res)
    expect(err.message).toBe('image too large')
    expect(err.code).toBe('image_too_large')
    expect(err.status).toBe(413)
  })
  it('joins FastAPI validation errors', async () => {
    const res = new Response(JSON.stringify({ detail: [{ msg: 'field required' }, { msg: 'bad scale' }] }), { status: 422 })
    expect((await errorFromResponse(res)).message).toBe('field required; bad scale')
  })
  it('falls back to text', async () => {
    expect((await errorFromResponse(new Response('Bad Gateway', { status: 502 }))).message).toBe('Bad Gateway')
  })
})

describe('isReady', () => {
  it('needs healthy and a loaded model', () => {
    expect(isReady({ status: 'healthy', model_loaded: true })).toBe(true)
    expect(isReady({ status: 'loading', model_loaded: false })).toBe(false)
    expect(isReady({ status: 'healthy', model_loaded: false })).toBe(false)
    expect(isReady(null)).toBe(false)
  })
})

describe('getHealth', () => {
  const cfg = { ...DEFAULT_CONFIG, apiUrl: 'http://b' }
  const withFetch = async (res: Response | Error, fn: () => Promise<void>) => {
    const orig = globalThis.fetch
    globalThis.fetch = (async () => {
      if (res instanceof Error) throw res
      return res
    }) as typeof fetch
    try {
      await fn()
    } finally {
      globalThis.fetch = orig
    }
  }
  it('reads a 503 body as a health report', async () => {
    await withFetch(new Response(JSON.stringify({ status: 'loading', model_loaded: false }), { status: 503 }), async () => {
      expect((await getHealth(cfg)).status).toBe('loading')
    })
  })
  it('treats a proxy 502 and a network error as unreachable', async () => {
    await withFetch(new Response('Bad Gateway', { status: 502 }), async () => {
      await expect(getHealth(cfg)).rejects.toBeInstanceOf(BackendUnreachable)
    })
    await withFetch(new TypeError('Failed to fetch'), async () => {
      await expect(getHealth(cfg)).rejects.toBeInstanceOf(BackendUnreachable)
    })
  })
})
