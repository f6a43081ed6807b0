import { useId } from 'react'
import { serverDeviceType, type Engine } from '../engine'
import type { MessageKey, Translate } from '../i18n'
import type { RunStage, RunState } from '../job/types'
import { useNow } from '../hooks/useNow'

const STAGE_LABEL: Record<RunStage, MessageKey> = {
  uploading: 'stageUploading',
  queued: 'stageQueued',
  'loading-model': 'stageLoadingModel',
  running: 'stageRunning',
  encoding: 'stageEncoding',
}

/** How often the elapsed time is redrawn. */
const TICK_MS = 200

interface ProgressCardProps {
  run: RunState
  /** For the device name when the server has not said which it uses. */
  engine: Engine
  t: Translate
}

/** Stage, percentage, elapsed time, tiles, time left and where the job runs. */
export function ProgressCard({ run, engine, t }: ProgressCardProps) {
  const now = useNow(TICK_MS)
  const elapsed = Math.max(0, (now - run.startedAt) / 1000)
  const stageId = useId()
  return (
    <div className="progress-card" data-testid="progress">
      <div className="progress-head">
        <span id={stageId}>
          {t(STAGE_LABEL[run.stage])}
          {run.stage === 'uploading' && run.upload != null ? ` ${run.upload}%` : ''}
          {run.stage === 'loading-model' && run.download != null ? ` ${run.download}%` : ''}
          {run.stage === 'queued' && run.queuePosition ? ` · ${t('queuePosition', { n: run.queuePosition })}` : ''}
        </span>
        <span className="progress-pct" data-testid="progress-value">{Math.floor(run.progress)}%</span>
      </div>
      <div className="bar" role="progressbar" aria-labelledby={stageId} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.floor(run.progress)}>
        <div className="bar-fill" style={{ width: `${run.progress}%` }} />
      </div>
      <div className="progress-meta">
        <span data-testid="elapsed">{t('elapsed', { s: elapsed.toFixed(1) })}</span>
        {run.tilesTotal ? <span>{t('tiles', { done: run.tilesDone ?? 0, total: run.tilesTotal })}</span> : null}
        {run.eta != null && run.progress < 100 ? <span>{t('eta', { s: Math.ceil(run.eta) })}</span> : null}
        <span>
          {run.engine === 'server' ? t('device') : t('engine')}:{' '}
          {run.engine === 'server'
            ? (run.backendLabel ?? serverDeviceType(engine))
            : `${t('modeBrowser')}${run.backendLabel ? ` · ${run.backendLabel}` : ''}`}
        </span>
      </div>
    </div>
  )
}
