import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pollWhileVisible, type VisibilitySource } from '../src/pollWhileVisible'

/** A document stand-in whose visibility the test flips, firing visibilitychange as a browser does. */
function fakeDocument(initial: DocumentVisibilityState): VisibilitySource & { show: (s: DocumentVisibilityState) => void; listeners: () => number } {
  const target = new EventTarget()
  let count = 0
  const doc = {
    visibilityState: initial,
    addEventListener: (type: string, fn: EventListener) => {
      count++
      target.addEventListener(type, fn)
    },
    removeEventListener: (type: string, fn: EventListener) => {
      count--
      target.removeEventListener(type, fn)
    },
    show(s: DocumentVisibilityState) {
      doc.visibilityState = s
      target.dispatchEvent(new Event('visibilitychange'))
    },
    listeners: () => count,
  }
  return doc
}

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

describe('the idle re-check', () => {
  it('runs every interval while the page is visible', () => {
    const check = vi.fn()
    const stop = pollWhileVisible(check, 1000, fakeDocument('visible'))
    vi.advanceTimersByTime(3500)
    expect(check).toHaveBeenCalledTimes(3)
    stop()
  })

  it('pauses while the page is hidden and checks at once when it is shown again', () => {
    const check = vi.fn()
    const doc = fakeDocument('visible')
    const stop = pollWhileVisible(check, 1000, doc)
    vi.advanceTimersByTime(1000)
    expect(check).toHaveBeenCalledTimes(1)
    doc.show('hidden')
    vi.advanceTimersByTime(60_000)
    expect(check).toHaveBeenCalledTimes(1)
    doc.show('visible')
    expect(check).toHaveBeenCalledTimes(2)
    // The interval starts over from the check made on showing.
    vi.advanceTimersByTime(999)
    expect(check).toHaveBeenCalledTimes(2)
    vi.advanceTimersByTime(1)
    expect(check).toHaveBeenCalledTimes(3)
    stop()
  })

  it('started in a hidden tab, waits until it is shown', () => {
    const check = vi.fn()
    const doc = fakeDocument('hidden')
    const stop = pollWhileVisible(check, 1000, doc)
    vi.advanceTimersByTime(10_000)
    expect(check).not.toHaveBeenCalled()
    doc.show('visible')
    expect(check).toHaveBeenCalledTimes(1)
    stop()
  })

  it('stopping ends the timer and the listener', () => {
    const check = vi.fn()
    const doc = fakeDocument('visible')
    pollWhileVisible(check, 1000, doc)()
    expect(doc.listeners()).toBe(0)
    doc.show('hidden')
    doc.show('visible')
    vi.advanceTimersByTime(10_000)
    expect(check).not.toHaveBeenCalled()
  })

  it('a repeated "visible" event (no hidden in between) does not check twice', () => {
    const check = vi.fn()
    const doc = fakeDocument('visible')
    const stop = pollWhileVisible(check, 1000, doc)
    doc.show('visible')
    expect(check).not.toHaveBeenCalled()
    stop()
  })
})
