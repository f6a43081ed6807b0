import { describe, expect, it } from 'vitest'
import { latestOnly } from '../src/latestOnly'

describe('latestOnly', () => {
  it('a task is the latest until another begins', () => {
    const loads = latestOnly()
    const first = loads.begin()
    expect(first()).toBe(true)
    const second = loads.begin()
    expect(first()).toBe(false)
    expect(second()).toBe(true)
  })

  it('an older task that ends last is still not the latest (a big file dropped first, a small one after)', async () => {
    const loads = latestOnly()
    const shown: string[] = []
    const load = async (name: string, ms: number) => {
      const isLatest = loads.begin()
      await new Promise((r) => setTimeout(r, ms))
      if (isLatest()) shown.push(name)
    }
    await Promise.all([load('big.png', 30), load('small.png', 1)])
    expect(shown).toEqual(['small.png'])
  })

  it('each tracker counts on its own', () => {
    const a = latestOnly()
    const b = latestOnly()
    const fromA = a.begin()
    b.begin()
    expect(fromA()).toBe(true)
  })
})
