import { useEffect, useId, useRef, type RefObject } from 'react'
import type { Translate } from '../i18n'
import { focusIsLost } from '../hooks/useFocusAfterLoad'
import type { Warning } from '../limits'

interface LimitWarningProps {
  warnings: Warning[]
  onContinue: () => void
  onBack: () => void
  /** Where the focus goes when the warning closes with it inside: Upscale, or Cancel once the job runs. */
  returnFocus: RefObject<HTMLButtonElement | null>
  t: Translate
}

/**
 * Asked before a job over a limit: the user may still go on (the server then says no itself).
 * An alert dialog: named by its title, described by the warnings, and focused on "Go back" (the
 * safe choice) when it opens, so a keyboard or screen reader user lands in it; Escape goes back too.
 */
export function LimitWarning({ warnings, onContinue, onBack, returnFocus, t }: LimitWarningProps) {
  const titleId = useId()
  const listId = useId()
  const dialog = useRef<HTMLDivElement>(null)
  const back = useRef<HTMLButtonElement>(null)
  // As in JobActions: the focus leaving for another element is the user moving on; with the
  // warning gone, the focus went with it and is handed back (the effect's cleanup).
  const hadFocus = useRef(false)
  useEffect(() => {
    back.current?.focus()
    return () => {
      if (hadFocus.current && focusIsLost(document)) returnFocus.current?.focus({ preventScroll: true })
    }
  }, [returnFocus])
  return (
    <div
      ref={dialog}
      className="alert alert-warn"
      role="alertdialog"
      aria-labelledby={titleId}
      aria-describedby={listId}
      data-testid="limit-warning"
      onFocus={() => {
        hadFocus.current = true
      }}
      onKeyDown={(e) => {
        // Escape closes a dialog (WAI-ARIA APG): here that is "Go back", the safe choice.
        if (e.key === 'Escape') {
          e.preventDefault()
          onBack()
        }
      }}
      onBlur={(e) => {
        const el = e.target
        queueMicrotask(() => {
          if (el.isConnected && !dialog.current?.contains(document.activeElement)) hadFocus.current = false
        })
      }}
    >
      <strong id={titleId}>{t('warnTitle')}</strong>
      <ul id={listId}>
        {warnings.map((w, i) => (
          <li key={i}>{t(w.key, w.params)}</li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" className="primary" onClick={onContinue} data-testid="warn-continue">
          {t('warnContinue')}
        </button>
        <button ref={back} type="button" className="ghost" onClick={onBack} data-testid="warn-back">
          {t('warnBack')}
        </button>
      </div>
    </div>
  )
}
