import type { OutputFormat } from '../filename'
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
  const { models, model, loading, scale, format, disabled, t } = props
  return (
    <div className="fields">
      <label>
        <span>{t('model')}</span>
        <select
          value={loading ? '' : model}
          onChange={(e) => props.onModelChange(e.target.value)}
          disabled={disabled || loading}
          aria-busy={loading}
          data-testid="model"
        >
          {loading ? (
            <option value="">{t('modelsLoading')}</option>
          ) : (
            models.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name} ({m.scale}×, {m.small ? t('modelSmall') : t('modelLarge')})
              </option>
            ))
          )}
        </select>
      </label>
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
