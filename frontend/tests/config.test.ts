import { describe, expect, it } from 'vitest'
import { apiPath, DEFAULT_CONFIG, fetchRuntimeConfig, mergeConfig, normalizeMode } from '../src/config'

describe('mergeConfig', () => {
  it('uses defaults when nothing is set', () => {
    expect(mergeConfig({})).toEqual(DEFAULT_CONFIG)
  })
  it('takes build-time VITE_* values', () => {
    const c = mergeConfig({ VITE_API_URL: 'http://gpu:8000/', VITE_UPSCALE_MODE: 'SERVER' })
    expect(c.apiUrl).toBe('http://gpu:8000')
    expect(c.mode).toBe('server')
  })
  it('lets config.json override the build', () => {
    const c = mergeConfig(
      { VITE_API_URL: 'http://gpu:8000', VITE_UPSCALE_MODE: 'server' },
      { apiUrl: 'https://example.com/backend', mode: 'browser', browserTile: 64 },
    )
    expect(c).toMatchObject({ apiUrl: 'https://example.com/backend', mode: 'browser', browserTile: 64 })
  })
  it('accepts VITE_* names inside config.json and an empty apiUrl for same-origin', () => {
    const c = mergeConfig({ VITE_API_URL: 'http://gpu:8000' }, { VITE_API_URL: '', VITE_UPSCALE_MODE: 'auto' })
    expect(c.apiUrl).toBe('')
    expect(c.mode).toBe('auto')
  })
  it('ignores invalid values', () => {
    const c = mergeConfig({ VITE_UPSCALE_MODE: 'gpu' }, { mode: 'turbo', browserTile: 'big', apiUrl: 42 })
    expect(c.mode).toBe('auto')
    expect(c.browserTile).toBe(DEFAULT_CONFIG.browserTile)
    expect(c.apiUrl).toBe('')
  })
  it('lets the page URL override last', () => {
    const c = mergeConfig({}, { mode: 'server' }, new URLSearchParams('mode=browser&api=http://x:1/'))
    expect(c.mode).toBe('browser')
    expect(c.apiUrl).toBe('http://x:1')
  })
  it('keeps the overlap at most half a tile', () => {
    expect(mergeConfig({}, { browserTile: 20, browserOverlap: 50 }).browserOverlap).toBe(10)
  })
})

describe('normalizeMode', () => {
  it('accepts the three modes only', () => {
    expect(normalizeMode(' Browser ')).toBe('browser')
    expect(normalizeMode('auto')).toBe('auto')
    expect(normalizeMode('x', 'server')).toBe('server')
    expect(normalizeMode(undefined)).toBe('auto')
  })
})

describe('fetchRuntimeConfig', () => {
  const respond = (body: string, status = 200) => (async () => new Response(body, { status })) as unknown as typeof fetch
  it('parses config.json', async () => {
    expect(await fetchRuntimeConfig(respond('{"mode":"server"}'))).toEqual({ mode: 'server' })
  })
  it('ignores a missing file, an SPA fallback page and broken JSON', async () => {
    expect(await fetchRuntimeConfig(respond('not found', 404))).toBeNull()
    expect(await fetchRuntimeConfig(respond('<!doctype html><html></html>'))).toBeNull()
    expect(await fetchRuntimeConfig(respond('{broken'))).toBeNull()
    expect(await fetchRuntimeConfig((async () => { throw new TypeError('offline') }) as unknown as typeof fetch)).toBeNull()
  })
})

describe('apiPath', () => {
  it('joins base and path', () => {
    expect(apiPath({ apiUrl: '' }, '/api/health')).toBe('/api/health')
    expect(apiPath({ apiUrl: 'http://h:8000' }, 'api/info')).toBe('http://h:8000/api/info')
  })

  it('keeps a URL prefix from config.json (the backend behind nginx at /upscaler/, ROOT_PATH=/upscaler)', () => {
    // Job URLs are built from apiUrl, not taken from the job's result_url: the prefix must be in apiUrl.
    const config = mergeConfig({}, { apiUrl: '/upscaler/' })
    expect(config.apiUrl).toBe('/upscaler')
    expect(apiPath(config, '/api/jobs/a.1/result')).toBe('/upscaler/api/jobs/a.1/result')
    expect(apiPath(config, '/api/jobs/a.1/events')).toBe('/upscaler/api/jobs/a.1/events')
  })
})
