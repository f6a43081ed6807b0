import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_CONFIG } from '../src/config'
import { ApiError, BackendUnreachable, errorFromResponse } from '../src/api/errors'
import { createJob, getJob, getResult, parseProgress, type JobProgress } from '../src/api/jobs'
import { getHealth, isReady } from '../src/api/system'
import { watchJob } from '../src/api/watchJob'
import { FakeXHR } from './fakeXhr'

const cfg = { ...DEFAULT_CONFIG, apiUrl: 'http://b' }
const jsonRes = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const htmlRes = (status: number, title: string) =>
  new Response(`<html><head><title>${status} ${title}</title></head><body><center><h1>${status} ${title}</h1></center><hr><center>nginx</center></body></html>`, {
    status,
    headers: { 'Content-Type': 'text/html' },
  })

type Call = { url: string; method: string }
/** Replace fetch with `answer`; returns the calls made. */
function mockFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    calls.push({ url: String(url), method: init.method ?? 'GET' })
    return answer(String(url), init)
  })
  return calls
}

afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

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
  it('falls back to plain text', async () => {
    expect((await errorFromResponse(new Response('Bad Gateway', { status: 502 }))).message).toBe('Bad Gateway')
  })
  it('never shows a proxy HTML page: a message from the status instead', async () => {
    const tooLarge = await errorFromResponse(htmlRes(413, 'Request Entity Too Large'))
    expect(tooLarge.message).toBe('the file is too large for the server')
    expect(tooLarge.key).toBe('errUploadTooLarge')
    const gateway = await errorFromResponse(htmlRes(502, 'Bad Gateway'))
    expect(gateway.message).not.toContain('<')
    expect(gateway.key).toBe('errBackendUnreachable')
    expect((await errorFromResponse(htmlRes(504, 'Gateway Time-out'))).key).toBe('errBackendTimeout')
    // HTML without a content type is still recognised.
    const bare = await errorFromResponse(new Response('<!doctype html><p>oops</p>', { status: 500 }))
    expect(bare).toMatchObject({ key: 'errHttpStatus', params: { status: 500 } })
  })
})

describe('backend gone behind a proxy', () => {
  it('getJob: a proxy 502/503/504 means unreachable', async () => {
    for (const res of [() => htmlRes(502, 'Bad Gateway'), () => new Response('', { status: 503 }), () => htmlRes(504, 'Gateway Time-out')]) {
      mockFetch(res)
      await expect(getJob(cfg, 'j1')).rejects.toBeInstanceOf(BackendUnreachable)
    }
  })
  it("getJob: our nginx's JSON 502 is unreachable too", async () => {
    mockFetch(() => jsonRes({ detail: 'the upscaling backend is not reachable; retry shortly', code: 'backend_unreachable' }, 502))
    await expect(getJob(cfg, 'j1')).rejects.toBeInstanceOf(BackendUnreachable)
  })
  it("a backend's own 503 queue_full stays an ApiError", async () => {
    mockFetch(() => jsonRes({ detail: 'the queue is full (8 jobs waiting); retry later', code: 'queue_full' }, 503))
    const err = await getJob(cfg, 'j1').catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('queue_full')
    // The create request (over XMLHttpRequest) keeps it an ApiError too.
    vi.stubGlobal('XMLHttpRequest', FakeXHR)
    FakeXHR.sent = []
    const creating = createJob(cfg, new Blob(['x']), 'a.png', { model: 'm', scale: 4, format: 'png' }).catch((e) => e)
    await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(1))
    FakeXHR.sent[0].respond(503, JSON.stringify({ detail: 'the queue is full (8 jobs waiting); retry later', code: 'queue_full' }))
    expect(await creating).toBeInstanceOf(ApiError)
  })
  it('getResult: a proxy 502 means unreachable; a 409 stays an ApiError', async () => {
    mockFetch(() => htmlRes(502, 'Bad Gateway'))
    await expect(getResult(cfg, 'j1')).rejects.toBeInstanceOf(BackendUnreachable)
    mockFetch(() => jsonRes({ detail: 'job not finished', code: 'job_not_finished' }, 409))
    await expect(getResult(cfg, 'j1')).rejects.toBeInstanceOf(ApiError)
  })
})

/** A stand-in for the browser's EventSource: tests push events or stay silent. */
class FakeEventSource {
  static last: FakeEventSource | null = null
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>()
  onerror: (() => void) | null = null
  closed = false
  constructor(public url: string) {
    FakeEventSource.last = this
  }
  addEventListener(name: string, fn: (ev: MessageEvent) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn])
  }
  emit(name: string, data: unknown) {
    for (const fn of this.listeners.get(name) ?? []) fn(new MessageEvent(name, { data: JSON.stringify(data) }))
  }
  close() {
    this.closed = true
  }
}

describe('watchJob', () => {
  it('rejects at once when already cancelled (e.g. during the upload)', async () => {
    const abort = new AbortController()
    abort.abort()
    await expect(watchJob(cfg, 'j1', () => undefined, abort.signal)).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('checks the job when the stream stays silent, and gives up when the backend is gone', async () => {
    vi.useFakeTimers()
    vi.stubGlobal('EventSource', FakeEventSource)
    const calls = mockFetch(() => htmlRes(502, 'Bad Gateway'))
    const seen: JobProgress[] = []
    const watching = watchJob(cfg, 'j1', (p) => seen.push(p), new AbortController().signal, 45_000)
    const outcome = watching.catch((e) => e)
    FakeEventSource.last!.emit('progress', { state: 'running', progress: 10 })
    await vi.advanceTimersByTimeAsync(44_000)
    expect(calls).toHaveLength(0) // an event 44 s ago: nothing to check yet
    await vi.advanceTimersByTimeAsync(2_000)
    expect(calls.map((c) => c.url)).toEqual(['http://b/api/jobs/j1'])
    expect(await outcome).toBeInstanceOf(BackendUnreachable)
    expect(FakeEventSource.last!.closed).toBe(true)
    expect(seen.map((p) => p.progress)).toEqual([10])
  })

  it('keeps watching a silent stream while the job answers, and ends with it', async () => {
    vi.useFakeTimers()
    vi.stubGlobal('EventSource', FakeEventSource)
    let state = 'running'
    const calls = mockFetch(() => jsonRes({ state, progress: state === 'running' ? 40 : 100 }))
    const watching = watchJob(cfg, 'j1', () => undefined, new AbortController().signal, 45_000)
    await vi.advanceTimersByTimeAsync(46_000)
    expect(calls).toHaveLength(1)
    state = 'succeeded'
    await vi.advanceTimersByTimeAsync(46_000)
    expect(calls).toHaveLength(2)
    expect((await watching).state).toBe('succeeded')
  })

  it('falls back to polling when the stream breaks, and a proxy 502 there means unreachable', async () => {
    vi.stubGlobal('EventSource', FakeEventSource)
    mockFetch(() => htmlRes(502, 'Bad Gateway'))
    const watching = watchJob(cfg, 'j1', () => undefined, new AbortController().signal)
    FakeEventSource.last!.onerror!()
    await expect(watching).rejects.toBeInstanceOf(BackendUnreachable)
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
