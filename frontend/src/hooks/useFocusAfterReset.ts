import { useEffect, useRef, type RefObject } from 'react'
import { handOverFocus, type FocusDocument, type FocusTarget } from './useFocusAfterLoad'

/**
 * One look at the focus after a render in which the image went from `before` to `now`. When the
 * image was put away ("New image": there was one, now there is none), a lost focus goes to `target`
 * (the dropzone's file chooser button), as handOverFocus does for Upscale after a load:
 * - 'none': the image was not put away (nothing yet, loaded, or replaced): nothing to do;
 * - 'leave': the focus is on a control that is still there: it is the user's;
 * - 'wait': the dropzone is missing or did not take the focus: nothing more is done (it is rendered
 *   in the same render that put the image away, so there is nothing later to wait for);
 * - 'focused': the focus was lost and is now on the dropzone, scrolled into view if it was out of it.
 */
export function handOverAfterReset(
  doc: FocusDocument,
  before: object | null,
  now: object | null,
  target: FocusTarget | null,
): 'none' | 'leave' | 'wait' | 'focused' {
  if (before === null || now !== null) return 'none'
  return handOverFocus(doc, target)
}

/**
 * Once the image is put away ("New image"), the focus goes to the dropzone's file chooser button, the
 * next thing the user wants, if it was lost: "New image" goes with the image, and with it the focus
 * of a keyboard user who pressed it, who would otherwise be back at the top of the page (WCAG 2.4.3).
 * The counterpart of useFocusAfterLoad.
 */
export function useFocusAfterReset(source: object | null, target: RefObject<FocusTarget | null>): void {
  const seen = useRef(source)
  useEffect(() => {
    const before = seen.current
    seen.current = source
    handOverAfterReset(document, before, source, target.current)
  }, [source, target])
}
