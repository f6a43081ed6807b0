/** A stand-in for the browser's XMLHttpRequest: tests drive the upload and the answer by hand. */
type Listener = (ev: { loaded?: number; total?: number; lengthComputable?: boolean }) => void

class Target {
  private listeners = new Map<string, Listener[]>()
  addEventListener(name: string, fn: Listener) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn])
  }
  emit(name: string, ev: Parameters<Listener>[0] = {}) {
    for (const fn of this.listeners.get(name) ?? []) fn(ev)
  }
}

export class FakeXHR extends Target {
  static sent: FakeXHR[] = []
  method = ''
  url = ''
  headers: Record<string, string> = {}
  body: unknown = null
  withCredentials = false
  responseType = ''
  status = 0
  statusText = ''
  response: unknown = null
  aborted = false
  upload = new Target()
  private responseHeaders = ''

  open(method: string, url: string) {
    this.method = method
    this.url = url
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value
  }
  send(body: unknown) {
    this.body = body
    FakeXHR.sent.push(this)
  }
  abort() {
    this.aborted = true
    this.emit('abort')
  }
  getAllResponseHeaders() {
    return this.responseHeaders
  }

  // The test's side: what the network does.
  progress(loaded: number, total: number) {
    this.upload.emit('progress', { loaded, total, lengthComputable: true })
  }
  uploadDone() {
    this.upload.emit('load')
  }
  respond(status: number, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
    this.status = status
    this.responseHeaders = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')
    this.response = this.responseType === 'blob' ? new Blob([body]) : body
    this.emit('load')
  }
  failNetwork() {
    this.emit('error')
  }
}
