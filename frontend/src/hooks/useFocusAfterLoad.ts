import { useEffect, useRef, type RefObject } from 'react'

/** What the hand-over needs of the document: where the focus is, and the page itself. */
export type FocusDocument = Pick<Document, 'activeElement' | 'body'>

/** What it needs of the button it hands the focus to. */
export interface FocusTarget {
  disabled: boolean
  focus: (options?: FocusOptions) => void
  scrollIntoView: (options?: ScrollIntoViewOptions) => void
}

/**
 * Whether the keyboard focus is lost: on nothing, or on the page itself. An element removed while it
 * had the focus (the dropzone once an image is loaded) leaves it there, and a keyboard user would
 * have to Tab from the top of the page again (WCAG 2.4.3).
 */
export function focusIsLost(doc: FocusDocument): boolean {
  const active = doc.activeElement
  return !active || active === doc.body
}

/**
 * One try at handing the focus to `target` (Upscale) after an image loaded:
 * - 'leave': the focus is on a control that is still there (e.g. the model picker, the user pasted
 *   while on it): it is the user's, not taken away;
 * - 'wait': the focus is lost but Upscale is missing or disabled (the engine is still being
 *   checked): try again when that changes;
 * - 'focused': the focus was lost and is now on Upscale, scrolled into view only if it was out of it
 *   (a page scrolled down to the result, then a paste): a keyboard user must see where the focus
 *   went (WCAG 2.4.11), and a button already in view does not make the page jump.
 */
export function handOverFocus(doc: FocusDocument, target: FocusTarget | null): 'leave' | 'wait' | 'focused' {
  if (!focusIsLost(doc)) return 'leave'
  if (!target || target.disabled) return 'wait'
  // focus() alone would scroll as the browser likes (Chromium centres the button); 'nearest' scrolls
  // the least, and not at all when the button is already in view.
  target.focus({ preventScroll: true })
  if (doc.activeElement !== (target as unknown)) return 'wait'
  target.scrollIntoView({ block: 'nearest', inline: 'nearest' })
  return 'focused'
}

/**
 * Once an image is loaded (file chooser, drop or paste), the focus goes to Upscale, the next thing
 * the user wants, if it was lost: the dropzone that had it is replaced by the thumbnail, or the
 * result's download link went with the old result, or nothing had it. As JobActions does between
 * Upscale and Cancel. A failed load changes nothing, so the focus stays where it was (on the
 * dropzone when it opened the chooser). Until Upscale can take it (enabled), the hand-over waits,
 * and is dropped if the user puts the focus somewhere themselves or the image is put away.
 */
export function useFocusAfterLoad(source: object | null, canStart: boolean, target: RefObject<FocusTarget | null>): void {
  const pending = useRef(false)
  const seen = useRef(source)
  useEffect(() => {
    if (source !== seen.current) pending.current = source !== null
    seen.current = source
    if (pending.current && handOverFocus(document, target.current) !== 'wait') pending.current = false
  }, [source, canStart, target])
}
