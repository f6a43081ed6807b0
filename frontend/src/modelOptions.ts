/** The models the model picker offers, and which one a job runs with on each engine. */
import { BROWSER_MODELS } from './browser/models'
import type { ServerModel } from './api/system'

export interface ModelOption {
  name: string
  scale: number
  /** Small models are fast; large ones give the best quality but are slow in the browser. */
  small: boolean
}

const isSmall = (name: string) => /animevideo|general/.test(name)

/** The models that run in the browser. */
export function browserModelOptions(): ModelOption[] {
  return BROWSER_MODELS.map((m) => ({ name: m.name, scale: m.scale, small: m.small }))
}

/**
 * The backend's models. While its list is unknown (not fetched yet, or the request failed) only
 * the model it names as its default in /api/health is offered: the browser's list would offer
 * models the server may not have.
 */
export function serverModelOptions(serverModels: ServerModel[] | null, serverDefault: string): ModelOption[] {
  if (serverModels?.length)
    return serverModels.map((m) => ({ name: m.name, scale: m.scale ?? 4, small: isSmall(m.name) }))
  return [{ name: serverDefault, scale: 4, small: isSmall(serverDefault) }]
}

/** The backend's models while it is up, else the ones that run in the browser. */
export function modelOptions(serverUp: boolean, serverModels: ServerModel[] | null, serverDefault: string): ModelOption[] {
  return serverUp ? serverModelOptions(serverModels, serverDefault) : browserModelOptions()
}

/**
 * The model a job runs with: the user's choice when offered, else the first of `defaults` that is
 * offered (the server's own default first, on the server), else the first offered. The choice
 * itself is kept, so it comes back once it is offered again (the server returned after an
 * outage, or was redeployed with the model again).
 */
export function pickModel(options: ModelOption[], chosen: string, ...defaults: string[]): string {
  if (options.some((m) => m.name === chosen)) return chosen
  const preferred = defaults.map((d) => options.find((m) => m.name === d)).find(Boolean) ?? options[0]
  return preferred ? preferred.name : chosen
}

/**
 * The model a server job runs with: the choice when the backend lists it now, else the backend's
 * default (which it always runs), else the configured default.
 */
export function serverModelFor(serverModels: ServerModel[] | null, serverDefault: string, chosen: string, defaultModel: string): string {
  return pickModel(serverModelOptions(serverModels, serverDefault), chosen, serverDefault, defaultModel)
}

/** The model the browser runs instead of `model`: the same one if it can, else the browser default. */
export function browserModelFor(model: string, defaultModel: string): string {
  return pickModel(browserModelOptions(), model, defaultModel)
}
