import type { Translate } from '../i18n'

interface JobActionsProps {
  running: boolean
  canStart: boolean
  hasSource: boolean
  onStart: () => void
  onReset: () => void
  onCancel: () => void
  t: Translate
}

/** Upscale and "New image" while idle; only Cancel while a job runs. */
export function JobActions({ running, canStart, hasSource, onStart, onReset, onCancel, t }: JobActionsProps) {
  return (
    <div className="actions">
      {!running ? (
        <>
          <button type="button" className="primary" disabled={!canStart} onClick={onStart} data-testid="start">
            {t('start')}
          </button>
          {hasSource && (
            <button type="button" className="ghost" onClick={onReset}>
              {t('reset')}
            </button>
          )}
        </>
      ) : (
        <button type="button" className="danger" onClick={onCancel} data-testid="cancel">
          {t('cancel')}
        </button>
      )}
    </div>
  )
}
