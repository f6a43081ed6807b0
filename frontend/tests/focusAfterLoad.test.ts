import { describe, expect, it } from 'vitest'
import { focusIsLost, handOverFocus, type FocusDocument, type FocusTarget } from '../src/hooks/useFocusAfterLoad'

/** A document with a body and a focus, and buttons that take it when focused (unless disabled). */
function page(activeIsBody = true) {
  const body = { name: 'body' } as unknown as HTMLElement
  const doc: { activeElement: Element | null; body: HTMLElement } = { activeElement: activeIsBody ? body : null, body }
  const calls: [string, FocusOptions | ScrollIntoViewOptions | undefined][] = []
  const button = (disabled = false): FocusTarget => {
    const b: FocusTarget = {
      disabled,
      focus: (options) => {
        calls.push(['focus', options])
        if (!b.disabled) doc.activeElement = b as unknown as Element
      },
      scrollIntoView: (options) => {
        calls.push(['scrollIntoView', options])
      },
    }
    return b
  }
  return { doc: doc as FocusDocument & typeof doc, body, button, calls }
}

describe('focus after an image loads', () => {
  it('counts the focus as lost on the page body or on nothing', () => {
    const { doc } = page()
    expect(focusIsLost(doc)).toBe(true)
    doc.activeElement = null
    expect(focusIsLost(doc)).toBe(true)
    doc.activeElement = { name: 'select' } as unknown as Element
    expect(focusIsLost(doc)).toBe(false)
  })

  it('hands a lost focus (the dropzone went) to Upscale, and scrolls it into view only as far as needed', () => {
    const { doc, button, calls } = page()
    const start = button()
    expect(handOverFocus(doc, start)).toBe('focused')
    expect(doc.activeElement).toBe(start)
    // A page scrolled down to the result: Upscale is brought into view ('nearest' leaves one in view still).
    expect(calls).toEqual([
      ['focus', { preventScroll: true }],
      ['scrollIntoView', { block: 'nearest', inline: 'nearest' }],
    ])
  })

  it('also when nothing had the focus', () => {
    const { doc, button } = page(false)
    const start = button()
    expect(handOverFocus(doc, start)).toBe('focused')
    expect(doc.activeElement).toBe(start)
  })

  it('leaves the focus on another control that is still there (pasted while on the model picker)', () => {
    const { doc, button, calls } = page()
    const picker = { name: 'model' } as unknown as Element
    doc.activeElement = picker
    expect(handOverFocus(doc, button())).toBe('leave')
    expect(doc.activeElement).toBe(picker)
    expect(calls).toEqual([])
  })

  it('waits while Upscale is disabled (engine still being checked) or not rendered', () => {
    const { doc, body, button, calls } = page()
    const start = button(true)
    expect(handOverFocus(doc, start)).toBe('wait')
    expect(handOverFocus(doc, null)).toBe('wait')
    expect(doc.activeElement).toBe(body)
    expect(calls).toEqual([])
    start.disabled = false
    expect(handOverFocus(doc, start)).toBe('focused')
    expect(doc.activeElement).toBe(start)
  })

  it('waits when the button did not take the focus', () => {
    const { doc, body } = page()
    let scrolled = false
    const detached: FocusTarget = { disabled: false, focus: () => {}, scrollIntoView: () => (scrolled = true) }
    expect(handOverFocus(doc, detached)).toBe('wait')
    expect(scrolled).toBe(false)
    expect(doc.activeElement).toBe(body)
  })
})
