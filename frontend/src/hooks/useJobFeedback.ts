import { useMemo, useState } from 'react'
import type { MessageKey } from '../i18n'
import type { Warning } from '../limits'
import type { ErrorState } from '../job/errors'

/** The browser ran another model than the one chosen (it cannot run that one). */
export interface ModelSwitch {
  from: string
  to: string
}

/** The messages under the controls: an error, an info line, a busy notice, limit warnings, a model switch. */
export interface JobMessages {
  error: ErrorState | null
  info: MessageKey | null
  notice: MessageKey | null
  warnings: Warning[] | null
  modelSwitch: ModelSwitch | null
}

/** Stable setters (safe in hook dependencies); null hides a message. */
export interface JobFeedback {
  setError(error: ErrorState | null): void
  setInfo(info: MessageKey | null): void
  /** Hides the info line if it still says `info` (another line set since is left alone). */
  dropInfo(info: MessageKey): void
  setNotice(notice: MessageKey | null): void
  setWarnings(warnings: Warning[] | null): void
  setModelSwitch(modelSwitch: ModelSwitch | null): void
}

export function useJobFeedback(): { messages: JobMessages; feedback: JobFeedback } {
  const [error, setError] = useState<ErrorState | null>(null)
  const [info, setInfo] = useState<MessageKey | null>(null)
  const [notice, setNotice] = useState<MessageKey | null>(null)
  const [warnings, setWarnings] = useState<Warning[] | null>(null)
  const [modelSwitch, setModelSwitch] = useState<ModelSwitch | null>(null)
  // State setters never change, so neither does this object.
  const feedback = useMemo<JobFeedback>(
    () => ({
      setError,
      setInfo,
      dropInfo: (key) => setInfo((shown) => (shown === key ? null : shown)),
      setNotice,
      setWarnings,
      setModelSwitch,
    }),
    [],
  )
  return { messages: { error, info, notice, warnings, modelSwitch }, feedback }
}
