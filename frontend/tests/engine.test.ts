import { afterEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_CONFIG } from '../src/config'
import { deviceLabel, engineEventDetail, engineFromHealth, engineFromHealthError, probeEngine, serverDeviceType } from '../src/engine'
import { ApiError, BackendUnreachable } from '../src/api/errors'
import type { Health } from '../src/api/system'

const healthy: Health = { status: 'healthy', model_loaded: true, device: { type: 'cuda', name: 'NVIDIA GeForce GTX 1070' } }

afterEach(() => vi.unstubAllGlobals())

describe('engine choice', () => {
  it('uses the server only when it is ready', () => {
    expect(engineFromHealth(healthy)).toEqual({ kind: 'server', health: healthy })
    expect(engineFromHealth({ status: 'healthy', model_loaded: false })).toEqual({ kind: 'browser', reason: 'unhealthy' })
    expect(engineFromHealth({ status: 'loading', model_loaded: false })).toEqual({ kind: 'browser', reason: 'loading' })
    expect(engineFromHealth({ status: 'unhealthy', model_loaded: true })).toEqual({ kind: 'browser', reason: 'unhealthy' })
  })

  it('an unusable answer is unhealthy, no answer is unreachable', () => {
    expect(engineFromHealthError(new ApiError('bad', 500))).toEqual({ kind: 'browser', reason: 'unhealthy' })
    expect(engineFromHealthError(new BackendUnreachable('refused'))).toEqual({ kind: 'browser', reason: 'unreachable' })
    expect(engineFromHealthError(new TypeError('x'))).toEqual({ kind: 'browser', reason: 'unreachable' })
  })

  it('forced browser mode never asks the backend', async () => {
    const fetch = vi.fn()
    vi.stubGlobal('fetch', fetch)
    expect(await probeEngine({ ...DEFAULT_CONFIG, mode: 'browser' })).toEqual({ kind: 'browser', reason: 'forced' })
    expect(fetch).not.toHaveBeenCalled()
  })

  it('probes the backend and falls back when it cannot be reached', async () => {
    const cfg = { ...DEFAULT_CONFIG, apiUrl: 'http://b', mode: 'auto' as const }
    vi.stubGlobal('fetch', async () => new Response(JSON.stringify(healthy), { headers: { 'Content-Type': 'application/json' } }))
    expect(await probeEngine(cfg)).toEqual({ kind: 'server', health: healthy })
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch')
    })
    expect(await probeEngine(cfg)).toEqual({ kind: 'browser', reason: 'unreachable' })
  })

  it('names engines in the event trail', () => {
    expect(engineEventDetail({ kind: 'server', health: healthy })).toBe('server')
    expect(engineEventDetail({ kind: 'browser', reason: 'loading' })).toBe('browser:loading')
  })
})

describe('device names', () => {
  it('shows the type, and the name when it says more', () => {
    expect(deviceLabel(healthy)).toBe('CUDA (NVIDIA GeForce GTX 1070)')
    expect(deviceLabel({ ...healthy, device: { type: 'cpu', name: 'cpu' } })).toBe('CPU')
    expect(deviceLabel({ ...healthy, device: { type: 'cpu', name: '' } })).toBe('CPU')
    expect(deviceLabel({ status: 'healthy', model_loaded: true })).toBe('')
  })

  it('knows the server device only while the server is the engine', () => {
    expect(serverDeviceType({ kind: 'server', health: healthy })).toBe('cuda')
    expect(serverDeviceType({ kind: 'server', health: { status: 'healthy', model_loaded: true } })).toBeUndefined()
    expect(serverDeviceType({ kind: 'browser', reason: 'forced' })).toBe('')
    expect(serverDeviceType({ kind: 'checking' })).toBe('')
  })
})
