import { useCallback, useMemo, useState } from 'react'
import type { CheckedEngine, Engine } from '../engine'
import { browserModelFor, modelOptions, pickModel, serverModelOptions, type ModelOption } from '../modelOptions'
import type { ServerModel } from '../api/system'

export interface ModelChoice {
  /** The model shown in the picker: the user's choice when the current engine offers it. */
  model: string
  /** The user's explicit choice; kept while the engine does not offer it, so it comes back. */
  setModel: (name: string) => void
  options: ModelOption[]
  /** The model a job runs with on the engine the check before it found (may differ from the one shown). */
  modelFor: (engine: CheckedEngine) => string
}

/** The backend's default model, as /api/health names it; else the configured default. */
function serverDefault(engine: Engine, defaultModel: string): string {
  return (engine.kind === 'server' && engine.health.model) || defaultModel
}

/** The chosen model, kept to one the current engine offers, and the user's choice remembered. */
export function useModelChoice(defaultModel: string, engine: Engine, serverModels: ServerModel[] | null): ModelChoice {
  const [choice, setChoice] = useState(defaultModel)
  const serverUp = engine.kind === 'server'
  const fallback = serverDefault(engine, defaultModel)
  const options = useMemo(() => modelOptions(serverUp, serverModels, fallback), [serverUp, serverModels, fallback])
  const model = pickModel(options, choice, defaultModel)
  const modelFor = useCallback(
    (checked: CheckedEngine) =>
      checked.kind === 'server'
        ? pickModel(serverModelOptions(serverModels, serverDefault(checked, defaultModel)), choice, defaultModel)
        : browserModelFor(model, defaultModel),
    [serverModels, choice, model, defaultModel],
  )
  return { model, setModel: setChoice, options, modelFor }
}
