import { describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG } from '../src/config'
import { modelUrls } from '../src/job/browserJob'

describe('browser model URLs', () => {
  const cfg = { ...DEFAULT_CONFIG, apiUrl: 'http://api:8000', modelsUrl: 'models' }
  it("tries the backend's export first when it may be up, else the static copy", () => {
    const base = 'http://web/app/index.html'
    const backend = 'http://api:8000/api/models/m/onnx'
    const local = 'http://web/app/models/m.onnx'
    expect(modelUrls(cfg, 'm', true, base)).toEqual([backend, local])
    expect(modelUrls(cfg, 'm', false, base)).toEqual([local, backend])
  })
})
