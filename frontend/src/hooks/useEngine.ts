import { useCallback, useEffect, useRef, useState } from 'react'
import type { AppConfig, UpscaleMode } from '../config'
import { engineEventDetail, probeEngine, type CheckedEngine, type Engine } from '../engine'
import { getInfo, getModels, type Limits, type ServerModel } from '../api/system'
import { pollWhileVisible } from '../pollWhileVisible'
import { record } from '../testEvents'

/** How often an idle page asks the backend again, so the engine follows it going down or up. */
const RECHECK_MS = 15000

export interface EngineState {
  engine: Engine
  /** Ask the backend now; every job starts with this, so it runs where the backend is right now. */
  checkEngine: () => Promise<CheckedEngine>
  /** The backend went away mid-job: the job carries on in the browser. */
  fallBackDuringJob: () => void
  /**
   * The backend's limits, for the warning before a big job: asked for each time the backend
   * (re)appears, so a job that the check before it has just moved to the server waits for them.
   */
  serverLimits: () => Promise<Limits>
  /**
   * The backend's model list, asked for at every check (a redeploy may change it without an
   * outage seen): the last one it gave since it (re)appeared, kept when asking again fails;
   * null until one is in.
   */
  serverModels: ServerModel[] | null
  /** The backend (re)appeared and its first model list is on its way. */
  modelsLoading: boolean
  /** The latest check's model list request failed (refused, an error status, not JSON); the next check asks again. */
  modelsFailed: boolean
  /** The list from the latest check's request, awaited before a server job; null if none could be had. */
  serverModelList: () => Promise<ServerModel[] | null>
}

export function useEngine(config: AppConfig): EngineState {
  const [engine, setEngine] = useState<Engine>({ kind: 'checking' })
  const [serverModels, setServerModels] = useState<ServerModel[] | null>(null)
  const [modelsLoading, setModelsLoading] = useState(false)
  const [modelsFailed, setModelsFailed] = useState(false)
  // Whether the last check found the backend up.
  const wasUp = useRef(false)
  // The latest model list request, and the last list the backend gave since it (re)appeared.
  const models = useRef<Promise<ServerModel[] | null>>(Promise.resolve(null))
  const lastModels = useRef<ServerModel[] | null>(null)
  // This time's limits request; null until the backend is up, and again once a request failed.
  const limits = useRef<Promise<Limits> | null>(null)

  const fetchLimits = useCallback((): Promise<Limits> => {
    const request: Promise<Limits> = getInfo(config).then(
      (i) => i.limits,
      () => {
        if (limits.current === request) limits.current = null
        return {}
      },
    )
    limits.current = request
    return request
  }, [config])

  const serverLimits = useCallback(() => limits.current ?? fetchLimits(), [fetchLimits])

  /** `reappeared`: a list from before the backend went away may be stale, so it is dropped. */
  const fetchModels = useCallback(
    (reappeared: boolean) => {
      if (reappeared) {
        lastModels.current = null
        setServerModels(null)
        setModelsLoading(true)
        setModelsFailed(false)
      }
      let failed = false
      const request: Promise<ServerModel[] | null> = getModels(config).then(
        (list) => (lastModels.current = list),
        () => {
          failed = true
          return lastModels.current
        },
      )
      models.current = request
      void request.then((list) => {
        // An older request answering late does not overwrite a newer one.
        if (models.current !== request) return
        setServerModels(list)
        setModelsFailed(failed)
        setModelsLoading(false)
      })
    },
    [config],
  )

  const serverModelList = useCallback(() => models.current, [])

  const checkEngine = useCallback(async (): Promise<CheckedEngine> => {
    const next = await probeEngine(config)
    const up = next.kind === 'server'
    // Limits come from the backend each time it (re)appears, models at every check.
    if (up && !wasUp.current) void fetchLimits()
    if (up) fetchModels(!wasUp.current)
    wasUp.current = up
    setEngine(next)
    record({ kind: 'engine', detail: engineEventDetail(next) })
    return next
  }, [config, fetchLimits, fetchModels])

  const fallBackDuringJob = useCallback(() => {
    wasUp.current = false
    setEngine({ kind: 'browser', reason: 'unreachable' })
    record({ kind: 'engine', detail: 'browser:during-job' })
  }, [])

  useEffect(() => {
    void checkEngine()
  }, [checkEngine])

  return { engine, checkEngine, fallBackDuringJob, serverLimits, serverModels, modelsLoading, modelsFailed, serverModelList }
}

/**
 * Re-check the engine now and then while idle and visible (a hidden tab asks nothing, and checks
 * at once when shown again); a running job checks for itself when it starts.
 */
export function useEngineRecheck(checkEngine: () => Promise<unknown>, paused: boolean, mode: UpscaleMode): void {
  useEffect(() => {
    // Forced browser mode never asks the backend.
    if (paused || mode === 'browser') return
    return pollWhileVisible(() => void checkEngine(), RECHECK_MS)
  }, [paused, checkEngine, mode])
}
