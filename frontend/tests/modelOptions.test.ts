import { describe, expect, it } from 'vitest'
import { BROWSER_MODELS } from '../src/browser/models'
import { browserModelFor, modelOptions, pickModel, serverModelFor } from '../src/modelOptions'
import type { ServerModel } from '../src/api/system'

const server: ServerModel[] = [
  { name: 'RealESRGAN_x4plus', scale: 4, arch: 'rrdb' },
  { name: 'RealESRGAN_x2plus', scale: 2, arch: 'rrdb' },
  { name: 'realesr-general-x4v3', scale: null, arch: 'srvgg' },
  { name: 'realesr-animevideov3', scale: 4, arch: 'srvgg' },
]
const browser = BROWSER_MODELS.map(({ name, scale, small }) => ({ name, scale, small }))

describe('modelOptions', () => {
  it("offers the server's models while it is up, marking the compact ones small", () => {
    expect(modelOptions(true, server, 'realesr-animevideov3')).toEqual([
      { name: 'RealESRGAN_x4plus', scale: 4, small: false },
      { name: 'RealESRGAN_x2plus', scale: 2, small: false },
      { name: 'realesr-general-x4v3', scale: 4, small: true },
      { name: 'realesr-animevideov3', scale: 4, small: true },
    ])
  })

  it('offers the browser models when the server is down', () => {
    expect(modelOptions(false, server, 'RealESRGAN_x2plus')).toEqual(browser)
  })

  it("offers only the server's default, never the browser list, while the server's list is unknown", () => {
    expect(modelOptions(true, null, 'RealESRGAN_x2plus')).toEqual([{ name: 'RealESRGAN_x2plus', scale: 4, small: false }])
    expect(modelOptions(true, [], 'realesr-general-x4v3')).toEqual([{ name: 'realesr-general-x4v3', scale: 4, small: true }])
  })
})

describe('pickModel', () => {
  const options = modelOptions(true, server, 'realesr-animevideov3')
  it('keeps a model that is offered', () => {
    expect(pickModel(options, 'RealESRGAN_x2plus', 'RealESRGAN_x4plus')).toBe('RealESRGAN_x2plus')
  })
  it('uses the default, else the first, for a model not offered', () => {
    expect(pickModel(options, 'gone', 'realesr-animevideov3')).toBe('realesr-animevideov3')
    expect(pickModel(options, 'gone', 'also-gone')).toBe('RealESRGAN_x4plus')
  })
  it('gives the choice back once it is offered again', () => {
    expect(pickModel(browser, 'RealESRGAN_x2plus', 'realesr-animevideov3')).toBe('realesr-animevideov3')
    expect(pickModel(options, 'RealESRGAN_x2plus', 'realesr-animevideov3')).toBe('RealESRGAN_x2plus')
  })
  it('keeps the choice when nothing is offered', () => {
    expect(pickModel([], 'gone', 'x')).toBe('gone')
  })
})

describe('browserModelFor', () => {
  it('keeps a model the browser can run', () => {
    expect(browserModelFor('RealESRGAN_x4plus', 'realesr-animevideov3')).toBe('RealESRGAN_x4plus')
  })
  it('switches a server-only model to the browser default', () => {
    expect(browserModelFor('RealESRGAN_x2plus', 'realesr-animevideov3')).toBe('realesr-animevideov3')
    expect(browserModelFor('realesr-general-x4v3', 'RealESRGAN_x4plus')).toBe('RealESRGAN_x4plus')
  })
  it('uses the first browser model when the configured default is not one', () => {
    expect(browserModelFor('RealESRGAN_x2plus', 'RealESRGAN_x2plus')).toBe(BROWSER_MODELS[0].name)
  })
})

describe('serverModelFor', () => {
  it("falls back to the server's own default before the configured one", () => {
    expect(serverModelFor(server, 'RealESRGAN_x2plus', 'gone', 'RealESRGAN_x4plus')).toBe('RealESRGAN_x2plus')
    expect(pickModel(modelOptions(true, server, 'x'), 'gone', 'also-gone', 'realesr-general-x4v3')).toBe('realesr-general-x4v3')
  })
  it("sends the server's default while its list is unknown", () => {
    expect(serverModelFor(null, 'RealESRGAN_x2plus', 'RealESRGAN_x4plus', 'RealESRGAN_x4plus')).toBe('RealESRGAN_x2plus')
  })
})
