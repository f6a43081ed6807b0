import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import type { AppConfig } from './config'
import { outputFileName, type OutputFormat } from './filename'
import { initialLang, saveLang, translate, type Lang, type MessageKey } from './i18n'
import { checkLimits, outputDims, type Warning } from './limits'
import { isAnimatedFile } from './animated'
import {
  abortError,
  ApiError,
  BackendUnreachable,
  cancelJob,
  createJob,
  getHealth,
  getInfo,
  getModels,
  getResult,
  isReady,
  onnxModelUrl,
  TERMINAL_CANCEL,
  TERMINAL_OK,
  watchJob,
  type Health,
  type Limits,
  type ServerModel,
} from './server'
import { BROWSER_MODELS } from './browser/models'
import { ModelMissing } from './browser/modelFetch'
import { cancelBrowserJob, decodeImage, encodePng, upscaleInBrowser, type DecodedImage } from './browser/upscaler'
import { CompareSlider } from './components/CompareSlider'

type FallbackReason = 'forced' | 'unreachable' | 'loading' | 'unhealthy'
type Engine = { kind: 'checking' } | { kind: 'server'; health: Health } | { kind: 'browser'; reason: FallbackReason }

interface Source {
  file: Blob
  name: string
  url: string
  width: number
  height: number
  decoded: DecodedImage
  /** Only the first frame is upscaled; `url` then shows that frame as a still. */
  animated: boolean
}

interface RunState {
  engine: 'server' | 'browser'
  stage: 'uploading' | 'queued' | 'loading-model' | 'running' | 'encoding'
  progress: number
  tilesDone?: number
  tilesTotal?: number
  eta?: number | null
  queuePosition?: number | null
  download?: number | null
  backendLabel?: string
  startedAt: number
}

interface Result {
  url: string
  width: number
  height: number
  fileName: string
  seconds: number
  /** Translated at render time, so a language switch applies to it. */
  via: { engine: 'server' | 'browser'; detail: string }
}

/** Messages are kept as keys and translated when shown; backend details stay as they came. */
interface ErrorState {
  title?: MessageKey
  key?: MessageKey
  params?: Record<string, string | number>
  message?: string
  code?: string | null
}

function errorState(err: unknown): ErrorState {
  if (err instanceof ModelMissing) return { key: 'modelNotInstalled', params: { name: err.model } }
  if (err instanceof ApiError)
    return err.key ? { key: err.key, params: err.params, code: err.code } : { message: err.message, code: err.code }
  return { message: err instanceof Error ? err.message : String(err) }
}

const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError'

/** Settle with the promise, or reject at once when the signal fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError())
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** What "Before" shows: the file itself, or for an animation the first frame (the one upscaled). */
async function sourceUrl(file: Blob, decoded: DecodedImage, animated: boolean): Promise<string> {
  return URL.createObjectURL(animated ? await encodePng(decoded.data) : file)
}

type TestEvent = { kind: string; source?: string; value?: number; detail?: string }
declare global {
  interface Window {
    __upscaleEvents?: TestEvent[]
  }
}
function record(ev: TestEvent) {
  ;(window.__upscaleEvents ??= []).push({ ...ev })
}

const SCALES = [2, 3, 4]

/** "CUDA (NVIDIA GeForce GTX 1070)", "CPU (x86_64)". */
function deviceLabel(health: Health): string {
  const d = health.device
  if (!d) return ''
  const type = (d.type ?? '').toUpperCase()
  return d.name && d.name.toLowerCase() !== d.type ? `${type} (${d.name})` : type
}

function absolute(url: string): string {
  return new URL(url, document.baseURI).href
}

export default function App({ config }: { config: AppConfig }) {
  const [lang, setLang] = useState<Lang>(initialLang)
  const t = useCallback(
    (key: MessageKey, params?: Record<string, string | number>) => translate(lang, key, params),
    [lang],
  )
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
    document.title = translate(lang, 'title')
  }, [lang])

  const [engine, setEngine] = useState<Engine>({ kind: 'checking' })
  const [limits, setLimits] = useState<Limits>({})
  const [serverModels, setServerModels] = useState<ServerModel[] | null>(null)
  const [source, setSource] = useState<Source | null>(null)
  const [model, setModel] = useState(config.defaultModel)
  const [scale, setScale] = useState(4)
  const [format, setFormat] = useState<OutputFormat>('png')
  const [run, setRun] = useState<RunState | null>(null)
  const [result, setResult] = useState<Result | null>(null)
  const [error, setError] = useState<ErrorState | null>(null)
  const [info, setInfo] = useState<MessageKey | null>(null)
  const [notice, setNotice] = useState<MessageKey | null>(null)
  const [busy, setBusy] = useState(false)
  // Set synchronously when a job starts, before any await: guards against double starts.
  const busyRef = useRef(false)
  const [warnings, setWarnings] = useState<Warning[] | null>(null)
  const [dragging, setDragging] = useState(false)
  const [now, setNow] = useState(Date.now())
  const abortRef = useRef<AbortController | null>(null)
  const jobIdRef = useRef<string | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)

  // ---- which engine: the backend when it is ready, else the browser (自动降级) ----
  const checkEngine = useCallback(async (): Promise<Engine> => {
    let next: Engine
    if (config.mode === 'browser') next = { kind: 'browser', reason: 'forced' }
    else {
      try {
        const health = await getHealth(config)
        if (isReady(health)) next = { kind: 'server', health }
        else next = { kind: 'browser', reason: health.status === 'loading' ? 'loading' : 'unhealthy' }
      } catch (err) {
        next = { kind: 'browser', reason: err instanceof ApiError ? 'unhealthy' : 'unreachable' }
      }
    }
    setEngine(next)
    record({ kind: 'engine', detail: next.kind === 'server' ? 'server' : `browser:${next.reason}` })
    return next
  }, [config])

  const running = busy || run !== null
  useEffect(() => {
    void checkEngine()
  }, [checkEngine])
  useEffect(() => {
    if (running || config.mode === 'browser') return
    const id = setInterval(() => void checkEngine(), 15000)
    return () => clearInterval(id)
  }, [running, checkEngine, config.mode])

  const serverUp = engine.kind === 'server'
  useEffect(() => {
    if (!serverUp) return
    getInfo(config)
      .then((i) => setLimits(i.limits))
      .catch(() => undefined)
    getModels(config)
      .then(setServerModels)
      .catch(() => setServerModels(null))
  }, [serverUp, config])

  // ---- models offered ----
  const modelOptions = useMemo(() => {
    if (serverUp && serverModels?.length)
      return serverModels.map((m) => ({ name: m.name, scale: m.scale ?? 4, small: /animevideo|general/.test(m.name) }))
    return BROWSER_MODELS.map((m) => ({ name: m.name, scale: m.scale, small: m.small }))
  }, [serverUp, serverModels])
  useEffect(() => {
    if (!modelOptions.some((m) => m.name === model)) {
      const preferred = modelOptions.find((m) => m.name === config.defaultModel) ?? modelOptions[0]
      if (preferred) setModel(preferred.name)
    }
  }, [modelOptions, model, config.defaultModel])

  // ---- elapsed-time ticker ----
  useEffect(() => {
    if (!running) return
    const id = setInterval(() => setNow(Date.now()), 200)
    return () => clearInterval(id)
  }, [running])

  // ---- input: picker, drag-and-drop, paste ----
  const loadFile = useCallback(async (file: File | Blob, name?: string) => {
    if (busyRef.current) return setNotice('busyDrop')
    const fileName = name ?? (file as File).name ?? 'image.png'
    let decoded: DecodedImage
    let url: string
    let animated: boolean
    try {
      decoded = await decodeImage(file)
      animated = await isAnimatedFile(file)
      url = await sourceUrl(file, decoded, animated)
    } catch {
      // Nothing was replaced: the current image and result stay as they are.
      setError({ title: 'openFailedTitle', key: 'notAnImage', params: { name: fileName } })
      return
    }
    if (busyRef.current) {
      // A job started while this file was being decoded.
      URL.revokeObjectURL(url)
      return setNotice('busyDrop')
    }
    setError(null)
    setInfo(null)
    setWarnings(null)
    setResult((r) => {
      if (r) URL.revokeObjectURL(r.url)
      return null
    })
    setSource((old) => {
      if (old) URL.revokeObjectURL(old.url)
      return { file, name: fileName, url, width: decoded.width, height: decoded.height, decoded, animated }
    })
    record({ kind: 'loaded', detail: `${decoded.width}x${decoded.height}${animated ? ':animated' : ''}` })
  }, [])

  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'))
      const file = item?.getAsFile()
      if (file) {
        e.preventDefault()
        void loadFile(file, file.name && file.name !== 'image.png' ? file.name : 'pasted.png')
      }
    }
    const onDragOver = (e: DragEvent) => {
      e.preventDefault()
      setDragging(true)
    }
    const onDragLeave = (e: DragEvent) => {
      if (!e.relatedTarget) setDragging(false)
    }
    const onDrop = (e: DragEvent) => {
      e.preventDefault()
      setDragging(false)
      const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/')) ?? e.dataTransfer?.files[0]
      if (file) void loadFile(file)
    }
    window.addEventListener('paste', onPaste)
    window.addEventListener('dragover', onDragOver)
    window.addEventListener('dragleave', onDragLeave)
    window.addEventListener('drop', onDrop)
    return () => {
      window.removeEventListener('paste', onPaste)
      window.removeEventListener('dragover', onDragOver)
      window.removeEventListener('dragleave', onDragLeave)
      window.removeEventListener('drop', onDrop)
    }
  }, [loadFile])

  // ---- the two engines ----
  const finish = useCallback(
    (blob: Blob, width: number, height: number, startedAt: number, via: Result['via'], seconds?: number | null) => {
      const fileName = outputFileName(source?.name, scale, blob.type === 'image/jpeg' ? 'jpeg' : blob.type === 'image/webp' ? 'webp' : 'png')
      setResult({
        url: URL.createObjectURL(blob),
        width,
        height,
        fileName,
        seconds: seconds ?? (Date.now() - startedAt) / 1000,
        via,
      })
      record({ kind: 'result', detail: `${width}x${height}` })
    },
    [source, scale],
  )

  const runBrowser = useCallback(
    async (src: Source, backendMaybeUp: boolean, signal: AbortSignal) => {
      const startedAt = Date.now()
      setRun({ engine: 'browser', stage: 'loading-model', progress: 0, startedAt })
      const staticUrl = absolute(`${config.modelsUrl}/${model}.onnx`)
      const backendUrl = absolute(onnxModelUrl(config, model))
      const urls = backendMaybeUp ? [backendUrl, staticUrl] : [staticUrl, backendUrl]
      const onAbort = () => cancelBrowserJob()
      signal.addEventListener('abort', onAbort)
      try {
        let backendLabel = ''
        const out = await upscaleInBrowser(
          src.decoded,
          { modelName: model, modelUrls: urls, targetScale: scale, tile: config.browserTile, overlap: config.browserOverlap },
          {
            onStage: (stage, backend) => {
              if (backend) backendLabel = backend === 'webgpu' ? 'WebGPU' : 'WASM'
              record({ kind: 'stage', detail: `${stage}:${backend ?? ''}` })
              setRun((r) => r && { ...r, stage, backendLabel: backendLabel || r.backendLabel })
            },
            onDownload: (loaded, total) =>
              setRun((r) => r && { ...r, download: total ? Math.round((100 * loaded) / total) : null }),
            onProgress: (done, total) => {
              record({ kind: 'progress', source: 'tile', value: (100 * done) / total })
              setRun(
                (r) =>
                  r && {
                    ...r,
                    stage: 'running',
                    progress: (100 * done) / total,
                    tilesDone: done,
                    tilesTotal: total,
                    eta: done > 0 ? ((Date.now() - r.startedAt) / 1000 / done) * (total - done) : null,
                  },
              )
            },
          },
        )
        finish(out.blob, out.width, out.height, startedAt, { engine: 'browser', detail: out.backend === 'webgpu' ? 'WebGPU' : 'WASM' })
      } finally {
        signal.removeEventListener('abort', onAbort)
      }
    },
    [config, model, scale, finish],
  )

  const runServer = useCallback(
    async (src: Source, signal: AbortSignal) => {
      const startedAt = Date.now()
      setRun({ engine: 'server', stage: 'uploading', progress: 0, startedAt })
      const id = await createJob(config, src.file, src.name, { model, scale, format }, signal)
      jobIdRef.current = id
      record({ kind: 'job', detail: id })
      setRun((r) => r && { ...r, stage: 'queued' })
      const final = await watchJob(
        config,
        id,
        (p) => {
          record({ kind: 'progress', source: p.source, value: p.progress, detail: p.state })
          setRun(
            (r) =>
              r && {
                ...r,
                stage: p.state === 'queued' ? 'queued' : TERMINAL_OK.has(p.state) ? 'encoding' : 'running',
                progress: p.progress,
                tilesDone: p.tilesDone,
                tilesTotal: p.tilesTotal,
                eta: p.eta,
                queuePosition: p.queuePosition,
                backendLabel: p.device ?? r.backendLabel,
              },
          )
        },
        signal,
      )
      if (TERMINAL_CANCEL.has(final.state)) throw new DOMException('cancelled', 'AbortError')
      if (!TERMINAL_OK.has(final.state)) throw new ApiError(final.errorMessage ?? final.state, 500, final.errorCode)
      const res = await getResult(config, id, signal)
      jobIdRef.current = null
      const dims = res.outputSize?.split('x').map(Number)
      let [w, h] = dims && dims.length === 2 && dims.every(Number.isFinite) ? dims : [0, 0]
      if (!w) {
        const bmp = await createImageBitmap(res.blob)
        ;[w, h] = [bmp.width, bmp.height]
        bmp.close()
      }
      const device = res.device ?? final.device ?? (engine.kind === 'server' ? engine.health.device?.type : '') ?? ''
      finish(res.blob, w, h, startedAt, { engine: 'server', detail: device }, res.processTime)
    },
    [config, model, scale, format, finish, engine],
  )

  const start = useCallback(
    async (confirmed: boolean) => {
      // Marked busy before any await, so a second click cannot start a second job.
      if (!source || busyRef.current) return
      busyRef.current = true
      setBusy(true)
      const abort = new AbortController()
      abortRef.current = abort
      setError(null)
      setInfo(null)
      setNotice(null)
      setWarnings(null)
      try {
        const eng = await untilAborted(checkEngine(), abort.signal)
        const kind = eng.kind === 'server' ? 'server' : 'browser'
        if (!confirmed) {
          const found = checkLimits({
            width: source.width,
            height: source.height,
            fileBytes: source.file.size,
            scale,
            engine: kind,
            limits,
            browserMaxOutputPixels: config.browserMaxOutputPixels,
          })
          if (found.length) {
            setWarnings(found)
            record({ kind: 'warning', detail: found.map((w) => w.key).join(',') })
            return
          }
        }
        setResult((r) => {
          if (r) URL.revokeObjectURL(r.url)
          return null
        })
        if (kind === 'server') {
          try {
            await runServer(source, abort.signal)
          } catch (err) {
            if (!(err instanceof BackendUnreachable) || abort.signal.aborted) throw err
            // The backend went away mid-job: carry on in the browser.
            setInfo('fallbackDuringJob')
            setEngine({ kind: 'browser', reason: 'unreachable' })
            record({ kind: 'engine', detail: 'browser:during-job' })
            await runBrowser(source, false, abort.signal)
          }
        } else {
          await runBrowser(source, eng.kind === 'browser' && eng.reason !== 'unreachable', abort.signal)
        }
      } catch (err) {
        if (isAbort(err)) setInfo('cancelled')
        else setError(errorState(err))
        record({ kind: 'error', detail: err instanceof Error ? err.message : String(err) })
      } finally {
        abortRef.current = null
        jobIdRef.current = null
        busyRef.current = false
        setBusy(false)
        setNotice(null)
        setRun(null)
      }
    },
    [source, checkEngine, scale, limits, config, runServer, runBrowser],
  )

  const cancel = useCallback(() => {
    const id = jobIdRef.current
    if (id) void cancelJob(config, id)
    abortRef.current?.abort()
  }, [config])

  const reset = useCallback(() => {
    if (running) return
    setSource((s) => {
      if (s) URL.revokeObjectURL(s.url)
      return null
    })
    setResult((r) => {
      if (r) URL.revokeObjectURL(r.url)
      return null
    })
    setError(null)
    setInfo(null)
    setWarnings(null)
  }, [running])

  // ---- view ----
  const banner =
    engine.kind === 'browser'
      ? engine.reason === 'forced'
        ? t('browserForced')
        : engine.reason === 'loading'
          ? t('fallbackLoading')
          : engine.reason === 'unhealthy'
            ? t('fallbackUnhealthy')
            : t('fallbackUnreachable', { url: config.apiUrl || window.location.origin })
      : null
  const elapsed = run ? Math.max(0, (now - run.startedAt) / 1000) : 0
  const [ow, oh] = source ? outputDims(source.width, source.height, scale) : [0, 0]
  const stageKey: Record<RunState['stage'], MessageKey> = {
    uploading: 'stageUploading',
    queued: 'stageQueued',
    'loading-model': 'stageLoadingModel',
    running: 'stageRunning',
    encoding: 'stageEncoding',
  }

  return (
    <div className={`app${dragging ? ' is-dragging' : ''}`}>
      <header className="topbar">
        <div className="brand">
          <div className="logo">4×</div>
          <div>
            <h1>{t('title')}</h1>
            <p className="subtitle">{t('subtitle')}</p>
          </div>
        </div>
        <div className="topbar-right">
          <span className={`badge badge-${engine.kind}`} data-testid="engine-badge" data-engine={engine.kind}>
            {engine.kind === 'checking'
              ? t('modeChecking')
              : engine.kind === 'server'
                ? `${t('modeServer')} · ${deviceLabel(engine.health)}`
                : t('modeBrowser')}
          </span>
          <label className="lang">
            <span className="sr-only">{t('language')}</span>
            <select
              value={lang}
              data-testid="lang"
              onChange={(e) => {
                const l = e.target.value as Lang
                setLang(l)
                saveLang(l)
              }}
            >
              <option value="zh">中文</option>
              <option value="en">English</option>
            </select>
          </label>
        </div>
      </header>

      {banner && (
        <div className={`banner ${engine.kind === 'browser' && engine.reason !== 'forced' ? 'banner-warn' : 'banner-info'}`} data-testid="fallback-banner" data-reason={engine.kind === 'browser' ? engine.reason : ''}>
          {banner}
        </div>
      )}

      <main className="layout">
        <section className="card controls">
          {!source ? (
            <button type="button" className={`dropzone${dragging ? ' active' : ''}`} onClick={() => fileInput.current?.click()} data-testid="dropzone">
              <span className="drop-icon">⬆</span>
              <span className="drop-text">{dragging ? t('dropActive') : t('dropHint')}</span>
              <span className="button-like">{t('chooseFile')}</span>
            </button>
          ) : (
            <div className="source">
              <img src={source.url} alt={t('original')} className="source-thumb" />
              <div className="source-meta">
                <strong title={source.name}>{source.name}</strong>
                <span>{t('inputSize', { w: source.width, h: source.height })}</span>
                <span>{t('outputSize', { w: ow, h: oh })}</span>
                {source.animated && <span data-testid="animated-note">{t('animatedFirstFrame')}</span>}
              </div>
            </div>
          )}
          <input
            ref={fileInput}
            type="file"
            accept="image/*"
            hidden
            data-testid="file-input"
            onChange={(e) => {
              const f = e.target.files?.[0]
              if (f) void loadFile(f)
              e.target.value = ''
            }}
          />

          <div className="fields">
            <label>
              <span>{t('model')}</span>
              <select value={model} onChange={(e) => setModel(e.target.value)} disabled={running} data-testid="model">
                {modelOptions.map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name} ({m.scale}×, {m.small ? t('modelSmall') : t('modelLarge')})
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span>{t('scale')}</span>
              <select value={scale} onChange={(e) => setScale(Number(e.target.value))} disabled={running} data-testid="scale">
                {SCALES.map((s) => (
                  <option key={s} value={s}>
                    {s}×
                  </option>
                ))}
              </select>
            </label>
            {engine.kind === 'server' && (
              <label>
                <span>{t('format')}</span>
                <select value={format} onChange={(e) => setFormat(e.target.value as OutputFormat)} disabled={running} data-testid="format">
                  <option value="png">PNG</option>
                  <option value="jpeg">JPEG</option>
                  <option value="webp">WebP</option>
                </select>
              </label>
            )}
          </div>

          <div className="actions">
            {!running ? (
              <>
                <button type="button" className="primary" disabled={!source || engine.kind === 'checking'} onClick={() => void start(false)} data-testid="start">
                  {t('start')}
                </button>
                {source && (
                  <button type="button" className="ghost" onClick={reset}>
                    {t('reset')}
                  </button>
                )}
              </>
            ) : (
              <button type="button" className="danger" onClick={cancel} data-testid="cancel">
                {t('cancel')}
              </button>
            )}
          </div>

          {warnings && (
            <div className="alert alert-warn" role="alertdialog" data-testid="limit-warning">
              <strong>{t('warnTitle')}</strong>
              <ul>
                {warnings.map((w, i) => (
                  <li key={i}>{t(w.key, w.params)}</li>
                ))}
              </ul>
              <div className="actions">
                <button type="button" className="primary" onClick={() => void start(true)} data-testid="warn-continue">
                  {t('warnContinue')}
                </button>
                <button type="button" className="ghost" onClick={() => setWarnings(null)}>
                  {t('warnBack')}
                </button>
              </div>
            </div>
          )}

          {run && (
            <div className="progress-card" data-testid="progress">
              <div className="progress-head">
                <span>
                  {t(stageKey[run.stage])}
                  {run.stage === 'loading-model' && run.download != null ? ` ${run.download}%` : ''}
                  {run.stage === 'queued' && run.queuePosition ? ` · ${t('queuePosition', { n: run.queuePosition })}` : ''}
                </span>
                <span className="progress-pct" data-testid="progress-value">{Math.floor(run.progress)}%</span>
              </div>
              <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.floor(run.progress)}>
                <div className="bar-fill" style={{ width: `${run.progress}%` }} />
              </div>
              <div className="progress-meta">
                <span data-testid="elapsed">{t('elapsed', { s: elapsed.toFixed(1) })}</span>
                {run.tilesTotal ? <span>{t('tiles', { done: run.tilesDone ?? 0, total: run.tilesTotal })}</span> : null}
                {run.eta != null && run.progress < 100 ? <span>{t('eta', { s: Math.ceil(run.eta) })}</span> : null}
                <span>
                  {run.engine === 'server' ? t('device') : t('engine')}:{' '}
                  {run.engine === 'server'
                    ? (run.backendLabel ?? (engine.kind === 'server' ? engine.health.device?.type : ''))
                    : `${t('modeBrowser')}${run.backendLabel ? ` · ${run.backendLabel}` : ''}`}
                </span>
              </div>
            </div>
          )}

          {notice && <div className="alert alert-info" data-testid="notice">{t(notice)}</div>}
          {info && <div className="alert alert-info" data-testid="info">{t(info)}</div>}
          {error && (
            <div className="alert alert-error" role="alert" data-testid="error">
              <strong data-testid="error-title">{t(error.title ?? 'errorTitle')}</strong>
              <p>
                {error.key ? t(error.key, error.params) : error.message}
                {error.code ? <code className="code">{error.code}</code> : null}
              </p>
            </div>
          )}
        </section>

        <section className="card stage">
          {result && source ? (
            <>
              <CompareSlider
                before={source.url}
                after={result.url}
                width={result.width}
                height={result.height}
                beforeLabel={t('before')}
                afterLabel={t('after')}
              />
              <div className="result-bar">
                <span data-testid="result-meta">
                  {t('outputSize', { w: result.width, h: result.height })} · {t('processTime', { s: result.seconds.toFixed(2) })} ·{' '}
                  {t(result.via.engine === 'server' ? 'modeServer' : 'modeBrowser')} · {result.via.detail}
                </span>
                <a className="button-like primary" href={result.url} download={result.fileName} data-testid="download">
                  {t('download')} {result.fileName}
                </a>
              </div>
            </>
          ) : source ? (
            <div className="preview">
              <img src={source.url} alt={t('original')} />
            </div>
          ) : (
            <div className="empty" onClick={() => fileInput.current?.click()}>
              <span>{t('dropHint')}</span>
            </div>
          )}
        </section>
      </main>
      <footer className="foot">Real-ESRGAN · onnxruntime-web · {config.mode}</footer>
    </div>
  )
}
