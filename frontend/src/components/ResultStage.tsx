import type { Translate } from '../i18n'
import type { SourceImage, UpscaleResult } from '../job/types'
import { CompareSlider } from './CompareSlider'

interface ResultStageProps {
  source: SourceImage | null
  result: UpscaleResult | null
  chooseFile: () => void
  t: Translate
}

/** The big panel: before/after with the download, else the original, else a hint to load one. */
export function ResultStage({ source, result, chooseFile, t }: ResultStageProps) {
  return (
    <section className="card stage">
      {result && source ? (
        <>
          <CompareSlider
            before={source.url}
            after={result.url}
            width={result.width}
            height={result.height}
            beforeLabel={t('before')}
            afterLabel={t('after')}
          />
          <div className="result-bar">
            <span data-testid="result-meta">
              {t('outputSize', { w: result.width, h: result.height })} · {t('processTime', { s: result.seconds.toFixed(2) })} ·{' '}
              {t(result.via.engine === 'server' ? 'modeServer' : 'modeBrowser')} · {result.via.detail}
            </span>
            <a className="button-like primary" href={result.url} download={result.fileName} data-testid="download">
              {t('download')} {result.fileName}
            </a>
          </div>
        </>
      ) : source ? (
        <div className="preview">
          <img src={source.url} alt={t('original')} />
        </div>
      ) : (
        <button type="button" className="empty" onClick={chooseFile} data-testid="empty-stage">
          <span>{t('dropHint')}</span>
        </button>
      )}
    </section>
  )
}
