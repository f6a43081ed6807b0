/** One job in the browser: onnxruntime-web in a worker, tile by tile. */
import { cancelBrowserJob, upscaleInBrowser } from '../browser/upscaler'
import type { AppConfig } from '../config'
import { onnxModelUrl } from '../api/system'
import { record } from '../testEvents'
import { browserStage, executionBackendLabel, initialRun, modelDownload, tileProgress, type RunReporter } from './runState'
import type { JobOutput, SourceImage } from './types'

export interface BrowserJobParams {
  config: AppConfig
  source: SourceImage
  model: string
  scale: number
  /** Try the backend's ONNX export before the static copy (it is likely to answer). */
  backendMaybeUp: boolean
  signal: AbortSignal
  reporter: RunReporter
}

/** Where the model may be fetched from, most likely first. */
export function modelUrls(config: AppConfig, model: string, backendMaybeUp: boolean, baseUri: string): string[] {
  const staticUrl = new URL(`${config.modelsUrl}/${model}.onnx`, baseUri).href
  const backendUrl = new URL(onnxModelUrl(config, model), baseUri).href
  return backendMaybeUp ? [backendUrl, staticUrl] : [staticUrl, backendUrl]
}

export async function runBrowserJob(params: BrowserJobParams): Promise<JobOutput> {
  const { config, source, model, scale, signal, reporter } = params
  const startedAt = Date.now()
  reporter.begin(initialRun('browser', 'loading-model', startedAt))
  const urls = modelUrls(config, model, params.backendMaybeUp, document.baseURI)
  // The worker knows nothing of the signal: cancelling terminates it.
  const onAbort = () => cancelBrowserJob()
  signal.addEventListener('abort', onAbort)
  try {
    let backendLabel = ''
    const out = await upscaleInBrowser(
      source.decoded,
      { modelName: model, modelUrls: urls, targetScale: scale, tile: config.browserTile, overlap: config.browserOverlap },
      {
        onStage: (stage, backend) => {
          if (backend) backendLabel = executionBackendLabel(backend)
          record({ kind: 'stage', detail: `${stage}:${backend ?? ''}` })
          reporter.update(browserStage(stage, backendLabel))
        },
        onDownload: (loaded, total) => reporter.update(modelDownload(loaded, total)),
        onProgress: (done, total) => {
          record({ kind: 'progress', source: 'tile', value: (100 * done) / total })
          reporter.update(tileProgress(done, total))
        },
      },
    )
    return {
      blob: out.blob,
      width: out.width,
      height: out.height,
      seconds: (Date.now() - startedAt) / 1000,
      via: { engine: 'browser', detail: executionBackendLabel(out.backend) },
    }
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
