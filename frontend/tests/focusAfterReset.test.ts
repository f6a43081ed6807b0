import { describe, expect, it } from 'vitest'
import type { FocusDocument, FocusTarget } from '../src/hooks/useFocusAfterLoad'
import { handOverAfterReset } from '../src/hooks/useFocusAfterReset'

/** A document with a body and a focus, and a dropzone button that takes the focus when focused. */
function page(activeIsBody = true) {
  const body = { name: 'body' } as unknown as HTMLElement
  const doc: { activeElement: Element | null; body: HTMLElement } = { activeElement: activeIsBody ? body : null, body }
  const calls: [string, FocusOptions | ScrollIntoViewOptions | undefined][] = []
  const dropzone: FocusTarget = {
    disabled: false,
    focus: (options) => {
      calls.push(['focus', options])
      doc.activeElement = dropzone as unknown as Element
    },
    scrollIntoView: (options) => {
      calls.push(['scrollIntoView', options])
    },
  }
  return { doc: doc as FocusDocument & typeof doc, body, dropzone, calls }
}

const image = { name: 'astronaut.jpg' }
const other = { name: 'other.jpg' }

describe('focus after "New image"', () => {
  it('hands a lost focus ("New image" went with the image) to the file chooser, scrolled into view as far as needed', () => {
    const { doc, dropzone, calls } = page()
    expect(handOverAfterReset(doc, image, null, dropzone)).toBe('focused')
    expect(doc.activeElement).toBe(dropzone)
    expect(calls).toEqual([
      ['focus', { preventScroll: true }],
      ['scrollIntoView', { block: 'nearest', inline: 'nearest' }],
    ])
  })

  it('also when nothing had the focus', () => {
    const { doc, dropzone } = page(false)
    expect(handOverAfterReset(doc, image, null, dropzone)).toBe('focused')
    expect(doc.activeElement).toBe(dropzone)
  })

  it('does nothing unless the image was put away (first render, a load, a new image over the old one)', () => {
    const { doc, body, dropzone, calls } = page()
    expect(handOverAfterReset(doc, null, null, dropzone)).toBe('none')
    expect(handOverAfterReset(doc, null, image, dropzone)).toBe('none')
    expect(handOverAfterReset(doc, image, other, dropzone)).toBe('none')
    expect(handOverAfterReset(doc, image, image, dropzone)).toBe('none')
    expect(doc.activeElement).toBe(body)
    expect(calls).toEqual([])
  })

  it('leaves the focus on a control that is still there', () => {
    const { doc, dropzone, calls } = page()
    const picker = { name: 'model' } as unknown as Element
    doc.activeElement = picker
    expect(handOverAfterReset(doc, image, null, dropzone)).toBe('leave')
    expect(doc.activeElement).toBe(picker)
    expect(calls).toEqual([])
  })

  it('gives up when the file chooser is not there or does not take the focus', () => {
    const { doc, body } = page()
    expect(handOverAfterReset(doc, image, null, null)).toBe('wait')
    const detached: FocusTarget = { disabled: false, focus: () => {}, scrollIntoView: () => {} }
    expect(handOverAfterReset(doc, image, null, detached)).toBe('wait')
    expect(doc.activeElement).toBe(body)
  })
})
