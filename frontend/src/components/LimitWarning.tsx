import type { Translate } from '../i18n'
import type { Warning } from '../limits'

interface LimitWarningProps {
  warnings: Warning[]
  onContinue: () => void
  onBack: () => void
  t: Translate
}

/** Asked before a job over a limit: the user may still go on (the server then says no itself). */
export function LimitWarning({ warnings, onContinue, onBack, t }: LimitWarningProps) {
  return (
    <div className="alert alert-warn" role="alertdialog" data-testid="limit-warning">
      <strong>{t('warnTitle')}</strong>
      <ul>
        {warnings.map((w, i) => (
          <li key={i}>{t(w.key, w.params)}</li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" className="primary" onClick={onContinue} data-testid="warn-continue">
          {t('warnContinue')}
        </button>
        <button type="button" className="ghost" onClick={onBack}>
          {t('warnBack')}
        </button>
      </div>
    </div>
  )
}
