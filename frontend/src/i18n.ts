export type Lang = 'en' | 'zh'

const en = {
  title: 'Real-ESRGAN Upscaler',
  subtitle: 'Sharper, larger images — on the server GPU or right in your browser',
  language: 'Language',
  dropHint: 'Drop an image here, click to choose one, or paste (Ctrl+V)',
  dropActive: 'Release to load the image',
  chooseFile: 'Choose image',
  model: 'Model',
  modelsLoading: 'Loading models…',
  modelUnavailable: '{chosen} is not on this server now; using {using}.',
  modelListFailed: "Could not get the server's model list; using its default, {using}.",
  scale: 'Scale',
  format: 'Format',
  start: 'Upscale',
  cancel: 'Cancel',
  download: 'Download',
  reset: 'New image',
  original: 'Original',
  result: 'Result',
  before: 'Before',
  after: 'After',
  modeServer: 'Server',
  modeBrowser: 'In browser',
  modeChecking: 'Checking backend…',
  device: 'Device',
  engine: 'Engine',
  fallbackUnreachable: 'The backend at {url} is not reachable, so images are upscaled in your browser.',
  fallbackLoading: 'The backend is still loading its model, so images are upscaled in your browser for now.',
  fallbackUnhealthy: 'The backend reports it is unhealthy, so images are upscaled in your browser.',
  fallbackDuringJob: 'The backend stopped answering; continuing in your browser.',
  browserModelSwitched: 'The browser cannot run {from}, so it uses {to} instead.',
  browserForced: 'Browser mode: nothing is uploaded, the model runs on this device.',
  stageQueued: 'Queued',
  stageUploading: 'Uploading',
  stageRunning: 'Upscaling',
  stageLoadingModel: 'Loading model',
  stageEncoding: 'Finishing',
  stageDone: 'Done',
  tiles: 'tiles {done}/{total}',
  elapsed: 'Elapsed {s}s',
  eta: 'about {s}s left',
  queuePosition: 'position {n} in queue',
  cancelled: 'Cancelled.',
  onlyOneDropped: 'Several files were dropped: one image is upscaled at a time, so only the first image was opened.',
  errorTitle: 'Upscaling failed',
  warnTitle: 'This is a big job',
  warnContinue: 'Continue anyway',
  warnBack: 'Go back',
  warnOverLimit: 'The output would be {w}×{h} ({mp} MP), over the limit of {limit} MP.',
  warnInputOverLimit: 'The input is {mp} MP, over the server limit of {limit} MP.',
  warnUploadOverLimit: 'The file is {mb} MB, over the upload limit of {limit} MB.',
  warnScaleOverLimit: 'Scale {s} is over the server limit of {limit}.',
  warnBrowserSlow: 'Upscaling {mp} MP in the browser may take several minutes and a lot of memory.',
  openFailedTitle: 'Could not open the file',
  notAnImage: 'Could not open {name}: it is not an image this browser can read. The previous image is kept.',
  busyDrop: 'A job is running: cancel it or wait for it to finish before loading another image.',
  animatedFirstFrame: 'Animated image: only the first frame is upscaled.',
  modelNotInstalled:
    'The browser model {name} is not installed on this server and the backend is not reachable. Run "npm run models" before building the frontend, or start the backend.',
  errUploadTooLarge: 'The file is too large for the server.',
  errBackendUnreachable: 'The backend is not reachable.',
  errUploadOverLimit: 'The file is {mb} MB, over the server’s upload limit of {limit} MB.',
  errImageOverLimit: 'The image is {w}×{h} ({mp} MP), over the server’s limit of {limit} MP.',
  errImageTooLarge: 'The image has more pixels than the server accepts.',
  errOutputOverLimit: 'The result would be {w}×{h} ({mp} MP), over the server’s limit of {limit} MP. Choose a smaller scale.',
  errOutputTooLarge: 'The result would be larger than the server allows. Choose a smaller scale.',
  errNotImage: 'The server could not read this file as an image.',
  errTruncatedImage: 'The image file is incomplete (cut off), so the server could not read it.',
  errEmptyUpload: 'The file is empty.',
  errImageBomb: 'The image claims far more pixels than its file can hold; the server refused it as unsafe.',
  errServerBusy: 'The server is busy. Try again in {s} s.',
  errServerBusyNow: 'The server is busy. Try again shortly.',
  errUnauthorized: 'The server refused the request: the API key is missing or wrong (apiKey in config.json).',
  errOutOfMemory: 'The server ran out of memory for this image. Try a smaller scale or image.',
  errModelNotFound: 'The server does not have this model.',
  errBackendTimeout: 'The backend did not answer in time.',
  errJobLost: 'The server no longer has this job (it may have restarted). Start it again.',
  errHttpStatus: 'The server answered with status {status}.',
  inputSize: 'Input {w}×{h}',
  outputSize: 'Output {w}×{h}',
  processTime: 'Done in {s}s',
  modelSmall: 'small, fast',
  modelLarge: 'best quality, slow in browser',
  serverUnavailableForModel: 'not available offline',
}

export type MessageKey = keyof typeof en

const zh: Record<MessageKey, string> = {
  title: 'Real-ESRGAN 图像超分',
  subtitle: '更清晰、更大的图片 —— 使用服务器 GPU，或直接在浏览器中处理',
  language: '语言',
  dropHint: '拖入图片、点击选择，或直接粘贴（Ctrl+V）',
  dropActive: '松开即可载入图片',
  chooseFile: '选择图片',
  model: '模型',
  modelsLoading: '正在加载模型…',
  modelUnavailable: '此服务器当前没有 {chosen}，暂用 {using}。',
  modelListFailed: '无法获取服务器的模型列表，暂用其默认模型 {using}。',
  scale: '倍数',
  format: '格式',
  start: '开始放大',
  cancel: '取消',
  download: '下载',
  reset: '换一张',
  original: '原图',
  result: '结果',
  before: '处理前',
  after: '处理后',
  modeServer: '服务器',
  modeBrowser: '浏览器端',
  modeChecking: '正在检查后端…',
  device: '设备',
  engine: '引擎',
  fallbackUnreachable: '无法连接后端 {url}，已自动降级为浏览器端处理。',
  fallbackLoading: '后端仍在加载模型，暂时在浏览器端处理。',
  fallbackUnhealthy: '后端状态异常，已自动降级为浏览器端处理。',
  fallbackDuringJob: '后端已停止响应，改为在浏览器端继续处理。',
  browserModelSwitched: '浏览器无法运行 {from}，已改用 {to}。',
  browserForced: '浏览器模式：图片不会上传，模型在本机运行。',
  stageQueued: '排队中',
  stageUploading: '上传中',
  stageRunning: '放大中',
  stageLoadingModel: '加载模型',
  stageEncoding: '收尾中',
  stageDone: '完成',
  tiles: '分块 {done}/{total}',
  elapsed: '已用 {s} 秒',
  eta: '约剩 {s} 秒',
  queuePosition: '队列第 {n} 位',
  cancelled: '已取消。',
  onlyOneDropped: '拖入了多个文件：每次只处理一张图片，因此只打开了第一张图片。',
  errorTitle: '放大失败',
  warnTitle: '这项任务很大',
  warnContinue: '仍然继续',
  warnBack: '返回',
  warnOverLimit: '输出将为 {w}×{h}（{mp} 百万像素），超过 {limit} 百万像素的限制。',
  warnInputOverLimit: '输入为 {mp} 百万像素，超过服务器 {limit} 百万像素的限制。',
  warnUploadOverLimit: '文件大小 {mb} MB，超过 {limit} MB 的上传限制。',
  warnScaleOverLimit: '倍数 {s} 超过服务器上限 {limit}。',
  warnBrowserSlow: '在浏览器中放大 {mp} 百万像素的图片可能需要数分钟并占用大量内存。',
  openFailedTitle: '无法打开文件',
  notAnImage: '无法打开 {name}：它不是本浏览器能读取的图片。已保留之前的图片。',
  busyDrop: '正在处理任务：请先取消或等待完成，再载入新图片。',
  animatedFirstFrame: '动图：只放大第一帧。',
  modelNotInstalled: '本服务器未安装浏览器端模型 {name}，且无法连接后端。请在构建前端前运行 "npm run models"，或启动后端。',
  errUploadTooLarge: '文件太大，服务器不接受。',
  errBackendUnreachable: '无法连接后端。',
  errUploadOverLimit: '文件大小 {mb} MB，超过服务器 {limit} MB 的上传限制。',
  errImageOverLimit: '图片为 {w}×{h}（{mp} 百万像素），超过服务器 {limit} 百万像素的限制。',
  errImageTooLarge: '图片像素数超过服务器的限制。',
  errOutputOverLimit: '结果将为 {w}×{h}（{mp} 百万像素），超过服务器 {limit} 百万像素的限制。请选择更小的倍数。',
  errOutputTooLarge: '结果将超过服务器允许的大小。请选择更小的倍数。',
  errNotImage: '服务器无法将此文件读取为图片。',
  errTruncatedImage: '图片文件不完整（被截断），服务器无法读取。',
  errEmptyUpload: '文件是空的。',
  errImageBomb: '图片声明的像素远超其文件所能容纳，服务器出于安全考虑拒绝处理。',
  errServerBusy: '服务器正忙，请在 {s} 秒后重试。',
  errServerBusyNow: '服务器正忙，请稍后重试。',
  errUnauthorized: '服务器拒绝了请求：API 密钥缺失或错误（config.json 中的 apiKey）。',
  errOutOfMemory: '服务器处理此图片时内存不足。请尝试更小的倍数或图片。',
  errModelNotFound: '服务器上没有这个模型。',
  errBackendTimeout: '后端响应超时。',
  errJobLost: '服务器上已没有这个任务（可能已重启）。请重新开始。',
  errHttpStatus: '服务器返回状态码 {status}。',
  inputSize: '输入 {w}×{h}',
  outputSize: '输出 {w}×{h}',
  processTime: '用时 {s} 秒',
  modelSmall: '小巧快速',
  modelLarge: '画质最佳，浏览器端较慢',
  serverUnavailableForModel: '离线不可用',
}

export const MESSAGES: Record<Lang, Record<MessageKey, string>> = { en, zh }

/** First of the browser's preferred languages that we support; English otherwise. */
export function detectLang(languages: readonly (string | undefined | null)[]): Lang {
  for (const raw of languages) {
    if (!raw) continue
    const tag = raw.toLowerCase()
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh'
    if (tag === 'en' || tag.startsWith('en-')) return 'en'
  }
  return 'en'
}

export function translate(lang: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  const template = MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key
  if (!params) return template
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m))
}

const STORAGE_KEY = 'upscaler.lang'

export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY)
    if (saved === 'en' || saved === 'zh') return saved
  } catch {
    /* storage may be blocked */
  }
  const langs = typeof navigator !== 'undefined' ? [...(navigator.languages ?? []), navigator.language] : []
  return detectLang(langs)
}

export function saveLang(lang: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang)
  } catch {
    /* ignore */
  }
}

/** `translate` bound to the current language, as components receive it. */
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string
