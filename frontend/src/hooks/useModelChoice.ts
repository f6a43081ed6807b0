import { useEffect, useMemo, useState } from 'react'
import { modelOptions, replacementModel, type ModelOption } from '../modelOptions'
import type { ServerModel } from '../server'

/** The chosen model, kept to one the current engine offers. */
export function useModelChoice(
  defaultModel: string,
  serverUp: boolean,
  serverModels: ServerModel[] | null,
): { model: string; setModel: (name: string) => void; options: ModelOption[] } {
  const [model, setModel] = useState(defaultModel)
  const options = useMemo(() => modelOptions(serverUp, serverModels), [serverUp, serverModels])
  useEffect(() => {
    const replacement = replacementModel(options, model, defaultModel)
    if (replacement) setModel(replacement)
  }, [options, model, defaultModel])
  return { model, setModel, options }
}
