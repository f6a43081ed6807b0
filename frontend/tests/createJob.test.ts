import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_CONFIG } from '../src/config'
import { ApiError, BackendUnreachable } from '../src/api/errors'
import { CANCEL_GRACE_MS, createJob } from '../src/api/jobs'
import { FakeXHR } from './fakeXhr'

const cfg = { ...DEFAULT_CONFIG, apiUrl: 'http://b' }
const opts = { model: 'm', scale: 4, format: 'png' as const }
const json = (body: unknown) => JSON.stringify(body)

type Call = { url: string; method: string }
let fetchCalls: Call[] = []

beforeEach(() => {
  FakeXHR.sent = []
  fetchCalls = []
  vi.stubGlobal('XMLHttpRequest', FakeXHR)
  // Only the DELETE of an orphaned job goes through fetch.
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    fetchCalls.push({ url: String(url), method: init.method ?? 'GET' })
    return new Response(null, { status: 204 })
  })
})

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

/** The create request the page has just sent. */
async function sent(): Promise<FakeXHR> {
  await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(1))
  return FakeXHR.sent[0]
}

describe('createJob over XMLHttpRequest', () => {
  it('posts the form to the configured API with the API key, and resolves with the job id', async () => {
    const pending = createJob({ ...cfg, apiKey: 'k1' }, new Blob(['x']), 'a.png', opts)
    const xhr = await sent()
    expect([xhr.method, xhr.url]).toEqual(['POST', 'http://b/api/jobs'])
    expect(xhr.headers['X-API-Key']).toBe('k1')
    expect((xhr.body as FormData).get('model')).toBe('m')
    expect(((xhr.body as FormData).get('file') as File).name).toBe('a.png')
    xhr.uploadDone()
    xhr.respond(202, json({ id: 'j1' }))
    await expect(pending).resolves.toBe('j1')
  })

  it('reports the upload progress', async () => {
    const seen: [number, number][] = []
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts, undefined, (loaded, total) => seen.push([loaded, total]))
    const xhr = await sent()
    xhr.progress(100, 400)
    xhr.progress(400, 400)
    xhr.uploadDone()
    xhr.respond(202, json({ id: 'j1' }))
    await pending
    expect(seen).toEqual([
      [100, 400],
      [400, 400],
    ])
  })

  it('a cancel during the upload aborts it at once: AbortError, no DELETE', async () => {
    const abort = new AbortController()
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts, abort.signal)
    const xhr = await sent()
    xhr.progress(100, 400)
    abort.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    expect(xhr.aborted).toBe(true) // no bytes keep flowing after Cancel
    expect(fetchCalls).toEqual([])
  })

  it('a cancel after the upload waits for the answer and deletes the job id that arrives', async () => {
    const abort = new AbortController()
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts, abort.signal)
    const xhr = await sent()
    xhr.progress(400, 400)
    xhr.uploadDone()
    abort.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' }) // the page is free at once
    expect(xhr.aborted).toBe(false)
    xhr.respond(202, json({ id: 'j7' }))
    await vi.waitFor(() => expect(fetchCalls).toContainEqual({ url: 'http://b/api/jobs/j7', method: 'DELETE' }))
  })

  it('the wait for that answer is bounded', async () => {
    vi.useFakeTimers()
    const abort = new AbortController()
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts, abort.signal)
    const xhr = await sent()
    xhr.uploadDone()
    abort.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await vi.advanceTimersByTimeAsync(CANCEL_GRACE_MS)
    expect(xhr.aborted).toBe(true)
    expect(fetchCalls).toEqual([])
  })

  it("reads the backend's error body, code and Retry-After as before", async () => {
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts).catch((e) => e)
    const xhr = await sent()
    xhr.respond(503, json({ detail: 'the queue is full (8 jobs waiting); retry later', code: 'queue_full' }), {
      'Content-Type': 'application/json',
      'Retry-After': '30',
    })
    const err = await pending
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 503, code: 'queue_full', retryAfter: 30, message: 'the queue is full (8 jobs waiting); retry later' })
  })

  it("shows a proxy's HTML 413 page as a message, and a proxy 502 as the backend gone", async () => {
    const tooLarge = createJob(cfg, new Blob(['x']), 'a.png', opts).catch((e) => e)
    ;(await sent()).respond(413, '<html><body><h1>413 Request Entity Too Large</h1></body></html>', { 'Content-Type': 'text/html' })
    expect(await tooLarge).toMatchObject({ name: 'ApiError', status: 413, key: 'errUploadTooLarge' })

    FakeXHR.sent = []
    const gone = createJob(cfg, new Blob(['x']), 'a.png', opts).catch((e) => e)
    ;(await sent()).respond(502, '<html>Bad Gateway</html>', { 'Content-Type': 'text/html' })
    expect(await gone).toBeInstanceOf(BackendUnreachable)
  })

  it('a network failure means the backend is unreachable (the browser takes over)', async () => {
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts, new AbortController().signal)
    const xhr = await sent()
    xhr.failNetwork()
    await expect(pending).rejects.toBeInstanceOf(BackendUnreachable)
  })

  it('an answer without a job id is an error', async () => {
    const pending = createJob(cfg, new Blob(['x']), 'a.png', opts)
    ;(await sent()).respond(202, json({}))
    await expect(pending).rejects.toBeInstanceOf(ApiError)
  })
})
