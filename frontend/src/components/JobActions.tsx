import { useEffect, useRef, type FocusEvent, type RefObject } from 'react'
import type { Translate } from '../i18n'
import { focusIsLost } from '../hooks/useFocusAfterLoad'

interface JobActionsProps {
  running: boolean
  canStart: boolean
  hasSource: boolean
  onStart: () => void
  onReset: () => void
  onCancel: () => void
  /** Upscale, or Cancel while a job runs: the button that stands in the same place (LimitWarning hands the focus to it). */
  mainButton: RefObject<HTMLButtonElement | null>
  t: Translate
}

/**
 * Upscale and "New image" while idle; only Cancel while a job runs. Upscale and Cancel take each
 * other's place: when the one that had the focus goes, the focus goes to the other, so a keyboard
 * user is not dropped at the top of the page (WCAG 2.4.3) and can cancel, or start again, at once.
 */
export function JobActions({ running, canStart, hasSource, onStart, onReset, onCancel, mainButton, t }: JobActionsProps) {
  // Whether Upscale or Cancel had the focus when it went: a blur with the button still in the page is
  // the user moving on; with the button gone, it was replaced (the effect below hands the focus on).
  const hadFocus = useRef(false)
  const onFocus = () => {
    hadFocus.current = true
  }
  const onBlur = (e: FocusEvent<HTMLButtonElement>) => {
    const button = e.currentTarget
    queueMicrotask(() => {
      if (button.isConnected) hadFocus.current = false
    })
  }
  useEffect(() => {
    // No scrolling: the button is where it was, and a mouse user may have scrolled to the result.
    if (hadFocus.current && focusIsLost(document)) mainButton.current?.focus({ preventScroll: true })
  }, [running, mainButton])
  return (
    <div className="actions">
      {!running ? (
        <>
          <button
            ref={mainButton}
            type="button"
            className="primary"
            disabled={!canStart}
            onClick={onStart}
            onFocus={onFocus}
            onBlur={onBlur}
            data-testid="start"
          >
            {t('start')}
          </button>
          {hasSource && (
            <button type="button" className="ghost" onClick={onReset} data-testid="reset">
              {t('reset')}
            </button>
          )}
        </>
      ) : (
        <button ref={mainButton} type="button" className="danger" onClick={onCancel} onFocus={onFocus} onBlur={onBlur} data-testid="cancel">
          {t('cancel')}
        </button>
      )}
    </div>
  )
}
