/** Which engine runs a job: the backend when it is ready, else the browser (自动降级). */
import type { AppConfig } from './config'
import { ApiError } from './api/errors'
import { getHealth, isReady, type Health } from './api/system'

/** Why the browser runs jobs: configured so, or the backend is down, loading or unhealthy. */
export type FallbackReason = 'forced' | 'unreachable' | 'loading' | 'unhealthy'

export type Engine = { kind: 'checking' } | { kind: 'server'; health: Health } | { kind: 'browser'; reason: FallbackReason }

/** An engine once the check has answered. */
export type CheckedEngine = Exclude<Engine, { kind: 'checking' }>

/** A health answer decides the engine: only a ready backend gets jobs. */
export function engineFromHealth(health: Health): CheckedEngine {
  if (isReady(health)) return { kind: 'server', health }
  return { kind: 'browser', reason: health.status === 'loading' ? 'loading' : 'unhealthy' }
}

/** A failed health check: an answer we could not use means unhealthy, no answer means unreachable. */
export function engineFromHealthError(err: unknown): CheckedEngine {
  return { kind: 'browser', reason: err instanceof ApiError ? 'unhealthy' : 'unreachable' }
}

/** Asks the backend (unless browser mode is forced) and never throws. */
export async function probeEngine(config: AppConfig): Promise<CheckedEngine> {
  if (config.mode === 'browser') return { kind: 'browser', reason: 'forced' }
  try {
    return engineFromHealth(await getHealth(config))
  } catch (err) {
    return engineFromHealthError(err)
  }
}

/** How an engine is named in the test event trail: "server", "browser:unreachable", ... */
export function engineEventDetail(engine: CheckedEngine): string {
  return engine.kind === 'server' ? 'server' : `browser:${engine.reason}`
}

/** "CUDA (NVIDIA GeForce GTX 1070)", "CPU (x86_64)". */
export function deviceLabel(health: Health): string {
  const d = health.device
  if (!d) return ''
  const type = (d.type ?? '').toUpperCase()
  return d.name && d.name.toLowerCase() !== d.type ? `${type} (${d.name})` : type
}

/** The device a server job runs on, as far as the last health check knows. */
export function serverDeviceType(engine: Engine): string | undefined {
  return engine.kind === 'server' ? engine.health.device?.type : ''
}
