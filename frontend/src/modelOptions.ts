/** The models the model picker offers, and which one to fall back to when the list changes. */
import { BROWSER_MODELS } from './browser/models'
import type { ServerModel } from './server'

export interface ModelOption {
  name: string
  scale: number
  /** Small models are fast; large ones give the best quality but are slow in the browser. */
  small: boolean
}

/** The backend's models while it is up and lists any, else the ones that run in the browser. */
export function modelOptions(serverUp: boolean, serverModels: ServerModel[] | null): ModelOption[] {
  if (serverUp && serverModels?.length)
    return serverModels.map((m) => ({ name: m.name, scale: m.scale ?? 4, small: /animevideo|general/.test(m.name) }))
  return BROWSER_MODELS.map((m) => ({ name: m.name, scale: m.scale, small: m.small }))
}

/**
 * The model to switch to when the chosen one is no longer offered (the engine changed): the
 * configured default if offered, else the first. Null when no switch is needed or possible.
 */
export function replacementModel(options: ModelOption[], chosen: string, defaultModel: string): string | null {
  if (options.some((m) => m.name === chosen)) return null
  const preferred = options.find((m) => m.name === defaultModel) ?? options[0]
  return preferred ? preferred.name : null
}
