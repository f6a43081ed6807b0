import { describe, expect, it } from 'vitest'
import { BROWSER_MODELS } from '../src/browser/models'
import { modelOptions, replacementModel } from '../src/modelOptions'
import type { ServerModel } from '../src/server'

const server: ServerModel[] = [
  { name: 'RealESRGAN_x4plus', scale: 4, arch: 'rrdb' },
  { name: 'RealESRGAN_x2plus', scale: 2, arch: 'rrdb' },
  { name: 'realesr-general-x4v3', scale: null, arch: 'srvgg' },
  { name: 'realesr-animevideov3', scale: 4, arch: 'srvgg' },
]

describe('modelOptions', () => {
  it("offers the server's models while it is up, marking the compact ones small", () => {
    expect(modelOptions(true, server)).toEqual([
      { name: 'RealESRGAN_x4plus', scale: 4, small: false },
      { name: 'RealESRGAN_x2plus', scale: 2, small: false },
      { name: 'realesr-general-x4v3', scale: 4, small: true },
      { name: 'realesr-animevideov3', scale: 4, small: true },
    ])
  })

  it('offers the browser models when the server is down or lists none', () => {
    const browser = BROWSER_MODELS.map(({ name, scale, small }) => ({ name, scale, small }))
    expect(modelOptions(false, server)).toEqual(browser)
    expect(modelOptions(true, [])).toEqual(browser)
    expect(modelOptions(true, null)).toEqual(browser)
  })
})

describe('replacementModel', () => {
  const options = modelOptions(true, server)
  it('keeps a model that is still offered', () => {
    expect(replacementModel(options, 'RealESRGAN_x2plus', 'RealESRGAN_x4plus')).toBeNull()
  })
  it('switches to the default, else the first', () => {
    expect(replacementModel(options, 'gone', 'realesr-animevideov3')).toBe('realesr-animevideov3')
    expect(replacementModel(options, 'gone', 'also-gone')).toBe('RealESRGAN_x4plus')
  })
  it('has nothing to switch to in an empty list', () => {
    expect(replacementModel([], 'gone', 'x')).toBeNull()
  })
})
