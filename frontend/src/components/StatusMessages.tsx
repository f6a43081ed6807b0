import type { Translate } from '../i18n'
import type { JobMessages } from '../hooks/useJobFeedback'

interface StatusMessagesProps {
  messages: Pick<JobMessages, 'notice' | 'info' | 'modelSwitch' | 'error'>
  t: Translate
}

/** The busy notice, an info line (cancelled, fell back), a model switch and an error, each translated on render. */
export function StatusMessages({ messages: { notice, info, modelSwitch, error }, t }: StatusMessagesProps) {
  return (
    <>
      {/* Status regions, so a screen reader reads each line out when it appears (the error is an alert). */}
      {notice && (
        <div className="alert alert-info" role="status" data-testid="notice">
          {t(notice)}
        </div>
      )}
      {info && (
        <div className="alert alert-info" role="status" data-testid="info">
          {t(info)}
        </div>
      )}
      {modelSwitch && (
        <div className="alert alert-info" role="status" data-testid="model-switch">
          {t('browserModelSwitched', { from: modelSwitch.from, to: modelSwitch.to })}
        </div>
      )}
      {error && (
        <div className="alert alert-error" role="alert" data-testid="error">
          <strong data-testid="error-title">{t(error.title ?? 'errorTitle')}</strong>
          <p>
            {error.key ? t(error.key, error.params) : error.message}
            {error.code ? <code className="code">{error.code}</code> : null}
          </p>
          {error.detail ? (
            <p className="error-detail" data-testid="error-detail" lang="en">
              {error.detail}
            </p>
          ) : null}
        </div>
      )}
    </>
  )
}
