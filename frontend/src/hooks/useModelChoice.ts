import { useCallback, useMemo, useState } from 'react'
import type { CheckedEngine, Engine } from '../engine'
import { browserModelFor, modelOptions, pickModel, serverModelFor, type ModelOption } from '../modelOptions'
import type { ServerModel } from '../api/system'

export interface ModelChoice {
  /** The model shown in the picker: the user's choice when the current engine offers it. */
  model: string
  /** The user's explicit choice, remembered across visits; kept while the engine does not offer it, so it comes back. */
  setModel: (name: string) => void
  /** Empty while loading. */
  options: ModelOption[]
  /** Until the engine is known and, on the server, its first model list is in (or failed). */
  loading: boolean
  /**
   * The model a job runs with on the engine the check before it found, from the model list the
   * backend gave for that check (may differ from the one shown).
   */
  modelFor: (engine: CheckedEngine, serverModels: ServerModel[] | null) => string
  /**
   * The user's remembered choice, when the backend's current model list lacks it, and the model
   * shown instead; null otherwise (nothing chosen, still loading, in the browser, or the list
   * could not be had, so it is not known whether the backend has the model).
   */
  unavailable: ModelUnavailable | null
  /**
   * The backend's model list could not be had (and none is held from an earlier check), and the
   * model used instead (the backend's default); null otherwise.
   */
  listFailed: ModelListFailed | null
}

export interface ModelListFailed {
  using: string
}

export interface ModelUnavailable {
  chosen: string
  using: string
}

const STORAGE_KEY = 'upscaler.model'

/** The remembered choice; storage may be missing or blocked. */
function savedChoice(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

function saveChoice(name: string): void {
  try {
    localStorage.setItem(STORAGE_KEY, name)
  } catch {
    /* storage may be blocked: the choice lasts for this visit */
  }
}

/** The backend's default model, as /api/health names it; else the configured default. */
function serverDefault(engine: Engine, defaultModel: string): string {
  return (engine.kind === 'server' && engine.health.model) || defaultModel
}

/**
 * The chosen model, kept to one the current engine offers, and the user's choice remembered.
 * Only an explicit pick changes what is remembered: a fallback (the backend lacks the model for
 * now) is shown but not saved, so the model comes back when the backend lists it again.
 */
export function useModelChoice(
  defaultModel: string,
  engine: Engine,
  serverModels: ServerModel[] | null,
  modelsLoading: boolean,
  modelsFailed: boolean,
): ModelChoice {
  // The explicit choice (remembered, or picked on this visit); null when the user never chose.
  const [picked, setPicked] = useState(savedChoice)
  const choice = picked ?? defaultModel
  const serverUp = engine.kind === 'server'
  // Nothing is offered before the server's first answer: the browser's list would flash by.
  const loading = engine.kind === 'checking' || (serverUp && modelsLoading && !serverModels)
  const fallback = serverDefault(engine, defaultModel)
  const options = useMemo(
    () => (loading ? [] : modelOptions(serverUp, serverModels, fallback)),
    [loading, serverUp, serverModels, fallback],
  )
  const model = pickModel(options, choice, ...(serverUp ? [fallback] : []), defaultModel)
  const setModel = useCallback((name: string) => {
    setPicked(name)
    saveChoice(name)
  }, [])
  const modelFor = useCallback(
    (checked: CheckedEngine, list: ServerModel[] | null) =>
      checked.kind === 'server'
        ? serverModelFor(list, serverDefault(checked, defaultModel), choice, defaultModel)
        : browserModelFor(choice, defaultModel),
    [choice, defaultModel],
  )
  const listed = !loading && serverUp && !!serverModels?.length
  const unavailable = listed && picked !== null && model !== picked ? { chosen: picked, using: model } : null
  // A list held from an earlier check is still worth offering: only its absence is worth a note.
  const listFailed = !loading && serverUp && modelsFailed && !serverModels?.length ? { using: model } : null
  return { model, setModel, options, loading, modelFor, unavailable, listFailed }
}
