import { describe, expect, it } from 'vitest'
import { detectLang, MESSAGES, translate } from '../src/i18n'

describe('detectLang', () => {
  it('picks Chinese for any zh variant', () => {
    expect(detectLang(['zh-CN'])).toBe('zh')
    expect(detectLang(['zh-TW', 'en'])).toBe('zh')
    expect(detectLang(['ZH'])).toBe('zh')
  })
  it('follows the order of preference', () => {
    expect(detectLang(['en-US', 'zh-CN'])).toBe('en')
    expect(detectLang(['fr-FR', 'zh-CN'])).toBe('zh')
  })
  it('falls back to English', () => {
    expect(detectLang([])).toBe('en')
    expect(detectLang(['de', undefined, null])).toBe('en')
  })
})

describe('translate', () => {
  it('fills parameters', () => {
    expect(translate('en', 'tiles', { done: 3, total: 8 })).toBe('tiles 3/8')
    expect(translate('zh', 'tiles', { done: 3, total: 8 })).toBe('分块 3/8')
  })
  it('leaves unknown placeholders visible', () => {
    expect(translate('en', 'elapsed')).toBe('Elapsed {s}s')
  })
  it('has every key in both languages, with the same placeholders', () => {
    const keys = Object.keys(MESSAGES.en) as (keyof typeof MESSAGES.en)[]
    expect(Object.keys(MESSAGES.zh).sort()).toEqual([...keys].sort())
    for (const k of keys) {
      const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort()
      expect(ph(MESSAGES.zh[k]), k).toEqual(ph(MESSAGES.en[k]))
      expect(MESSAGES.zh[k].length, k).toBeGreaterThan(0)
    }
  })
})
