/// <reference lib="webworker" />
/**
 * In-browser inference with onnxruntime-web, off the main thread.
 * The wasm binaries come from the npm package and are bundled by Vite (no CDN).
 * WebGPU when the browser offers an adapter, WASM otherwise.
 */
import * as ort from 'onnxruntime-web'
import { accumulateTile, axisWeights, extractTile, planTiles, toRGBA } from '../tiling'
import { fetchModel, ModelMissing } from './modelFetch'
import type { ExecutionBackend, RunRequest, WorkerEvent } from './protocol'

declare const self: DedicatedWorkerGlobalScope

// Single-threaded wasm: threads need cross-origin isolation and would spawn this bundle again.
ort.env.wasm.numThreads = 1
ort.env.wasm.proxy = false
ort.env.logLevel = 'error'

const sessions = new Map<string, { session: ort.InferenceSession; backend: ExecutionBackend }>()

function post(ev: WorkerEvent, transfer: Transferable[] = []) {
  self.postMessage(ev, transfer)
}

async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
  if (!gpu) return false
  try {
    return (await gpu.requestAdapter()) != null
  } catch {
    return false
  }
}

async function getSession(req: RunRequest) {
  const key = req.modelName
  const cached = sessions.get(key)
  if (cached) return cached
  post({ type: 'stage', stage: 'loading-model' })
  const { buffer, url } = await fetchModel(req.modelName, req.modelUrls, (loaded, total) =>
    post({ type: 'download', loaded, total }),
  )
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' }
  let entry: { session: ort.InferenceSession; backend: ExecutionBackend } | null = null
  if (req.preferWebGPU && (await webgpuAvailable())) {
    try {
      const session = await ort.InferenceSession.create(new Uint8Array(buffer), { ...options, executionProviders: ['webgpu'] })
      entry = { session, backend: 'webgpu' }
    } catch (err) {
      console.warn('WebGPU session failed, using WASM', err)
    }
  }
  if (!entry) {
    const session = await ort.InferenceSession.create(new Uint8Array(buffer), { ...options, executionProviders: ['wasm'] })
    entry = { session, backend: 'wasm' }
  }
  sessions.set(key, entry)
  post({ type: 'stage', stage: 'running', backend: entry.backend, modelUrl: url })
  return entry
}

async function run(req: RunRequest) {
  const { session, backend } = await getSession(req)
  post({ type: 'stage', stage: 'running', backend })
  const rgba = new Uint8ClampedArray(req.rgba)
  const plan = planTiles(req.width, req.height, req.tile, req.overlap)
  const inputName = session.inputNames[0]
  const outputName = session.outputNames[0]
  let scale = 0
  let acc: Float32Array | null = null
  post({ type: 'progress', done: 0, total: plan.tiles.length })
  for (const tile of plan.tiles) {
    const tw = tile.x.readEnd - tile.x.readStart
    const th = tile.y.readEnd - tile.y.readStart
    const input = new ort.Tensor('float32', extractTile(rgba, req.width, tile), [1, 3, th, tw])
    const results = await session.run({ [inputName]: input })
    const out = results[outputName]
    const [, , oh, ow] = out.dims
    if (!scale) {
      scale = Math.round(oh / th)
      if (scale < 1 || scale * th !== oh || scale * tw !== ow) throw new Error(`unexpected model output ${out.dims.join('x')}`)
      acc = new Float32Array(req.width * scale * req.height * scale * 3)
    }
    const data = (await out.getData()) as Float32Array
    accumulateTile(acc!, plan, tile, data, scale, {
      wx: axisWeights(tile.x, plan.width, plan.blend, scale),
      wy: axisWeights(tile.y, plan.height, plan.blend, scale),
    })
    input.dispose()
    out.dispose()
    post({ type: 'progress', done: tile.index + 1, total: plan.tiles.length })
  }
  const W = req.width * scale
  const H = req.height * scale
  const result = toRGBA(acc!, W * H)
  post({ type: 'done', width: W, height: H, scale, rgba: result.buffer as ArrayBuffer, backend }, [result.buffer as ArrayBuffer])
}

self.onmessage = (ev: MessageEvent<RunRequest>) => {
  if (ev.data?.type !== 'run') return
  run(ev.data).catch((err) =>
    post({
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
      missingModel: err instanceof ModelMissing ? err.model : undefined,
    }),
  )
}
