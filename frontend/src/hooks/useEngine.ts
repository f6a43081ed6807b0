import { useCallback, useEffect, useRef, useState } from 'react'
import type { AppConfig, UpscaleMode } from '../config'
import { engineEventDetail, probeEngine, type CheckedEngine, type Engine } from '../engine'
import { getInfo, getModels, type Limits, type ServerModel } from '../api/system'
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
  /** The backend's model list: the last one it gave (kept while it is down, or when asking again fails). */
  serverModels: ServerModel[] | null
}

export function useEngine(config: AppConfig): EngineState {
  const [engine, setEngine] = useState<Engine>({ kind: 'checking' })
  const [serverModels, setServerModels] = useState<ServerModel[] | null>(null)
  // Whether the last check found the backend up, and whether its model list is in for this time.
  const wasUp = useRef(false)
  const models = useRef<'pending' | 'ok' | 'failed'>('failed')
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

  const fetchModels = useCallback(() => {
    models.current = 'pending'
    getModels(config).then(
      (list) => {
        models.current = 'ok'
        setServerModels(list)
      },
      () => (models.current = 'failed'),
    )
  }, [config])

  const checkEngine = useCallback(async (): Promise<CheckedEngine> => {
    const next = await probeEngine(config)
    const up = next.kind === 'server'
    // Limits and models come from the backend each time it (re)appears; a failed model list is
    // asked for again at the next check.
    if (up && !wasUp.current) {
      void fetchLimits()
      fetchModels()
    } else if (up && models.current === 'failed') fetchModels()
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

  return { engine, checkEngine, fallBackDuringJob, serverLimits, serverModels }
}

/** Re-check the engine now and then while idle; a running job checks for itself when it starts. */
export function useEngineRecheck(checkEngine: () => Promise<unknown>, paused: boolean, mode: UpscaleMode): void {
  useEffect(() => {
    // Forced browser mode never asks the backend.
    if (paused || mode === 'browser') return
    const id = setInterval(() => void checkEngine(), RECHECK_MS)
    return () => clearInterval(id)
  }, [paused, checkEngine, mode])
}
