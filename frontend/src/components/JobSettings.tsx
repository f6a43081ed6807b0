import { useId } from 'react'
import type { OutputFormat } from '../filename'
import type { ModelListFailed, ModelUnavailable } from '../hooks/useModelChoice'
import type { Translate } from '../i18n'
import type { ModelOption } from '../modelOptions'

/** Output scales offered; the browser resizes the model's 4× output for the others. */
const SCALES = [2, 3, 4]

interface JobSettingsProps {
  models: ModelOption[]
  model: string
  /** The models are not known yet: nothing to pick, and the picker says so. */
  loading: boolean
  onModelChange: (model: string) => void
  /** The remembered model the backend lacks now, and the one shown instead: said beside the picker. */
  unavailable: ModelUnavailable | null
  /** The backend's model list could not be had, and the model used instead: said in the same place. */
  listFailed: ModelListFailed | null
  scale: number
  onScaleChange: (scale: number) => void
  /** Only the server encodes other formats; the browser always gives PNG. */
  showFormat: boolean
  format: OutputFormat
  onFormatChange: (format: OutputFormat) => void
  /** Locked while a job runs: it was started with the values shown. */
  disabled: boolean
  t: Translate
}

export function JobSettings(props: JobSettingsProps) {
  const { models, model, loading, unavailable, listFailed, scale, format, disabled, t } = props
  const noteId = useId()
  const note = unavailable
    ? t('modelUnavailable', { chosen: unavailable.chosen, using: unavailable.using })
    : listFailed && t('modelListFailed', { using: listFailed.using })
  const label = (m: ModelOption) => `${m.name} (${m.scale}×, ${m.small ? t('modelSmall') : t('modelLarge')})`
  // The remembered model is kept while the backend lacks it (it comes back when the backend lists
  // it again), so the model shown in its place is not the user's choice. A <select> fires no change
  // when the option already selected is picked again: the model is shown by a hidden copy, so that
  // picking it in the list selects another option, and the pick replaces the remembered model.
  const standIn = unavailable && !loading ? models.find((m) => m.name === model) : undefined
  return (
    <div className="fields">
      <div className="model-field">
        <label>
          <span>{t('model')}</span>
          <select
            value={loading ? '' : model}
            onChange={(e) => props.onModelChange(e.target.value)}
            disabled={disabled || loading}
            aria-busy={loading}
            aria-describedby={note ? noteId : undefined}
            data-testid="model"
          >
            {loading ? (
              <option value="">{t('modelsLoading')}</option>
            ) : (
              <>
                {/* First, so that the select's value picks it over the same model in the list. */}
                {standIn && (
                  <option value={standIn.name} hidden disabled>
                    {label(standIn)}
                  </option>
                )}
                {models.map((m) => (
                  <option key={m.name} value={m.name}>
                    {label(m)}
                  </option>
                ))}
              </>
            )}
          </select>
        </label>
        {/* Always there, so screen readers announce the note when it appears. */}
        <p id={noteId} className="model-note" role="status" data-testid="model-note">
          {note}
        </p>
      </div>
      <label>
        <span>{t('scale')}</span>
        <select value={scale} onChange={(e) => props.onScaleChange(Number(e.target.value))} disabled={disabled} data-testid="scale">
          {SCALES.map((s) => (
            <option key={s} value={s}>
              {s}×
            </option>
          ))}
        </select>
      </label>
      {props.showFormat && (
        <label>
          <span>{t('format')}</span>
          <select value={format} onChange={(e) => props.onFormatChange(e.target.value as OutputFormat)} disabled={disabled} data-testid="format">
            <option value="png">PNG</option>
            <option value="jpeg">JPEG</option>
            <option value="webp">WebP</option>
          </select>
        </label>
      )}
    </div>
  )
}
