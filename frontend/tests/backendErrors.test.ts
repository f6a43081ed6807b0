import { describe, expect, it } from 'vitest'
import { ApiError, errorFromResponse } from '../src/api/errors'
import { translate } from '../src/i18n'
import { errorState, type ErrorState } from '../src/job/errors'

/** What the user reads for an error state, in one language. */
function shown(state: ErrorState, lang: 'en' | 'zh'): string {
  return state.key ? translate(lang, state.key, state.params) : (state.message ?? '')
}

const backendError = (status: number, detail: string, code: string, retryAfter?: string) =>
  errorFromResponse(
    new Response(JSON.stringify({ detail, code }), {
      status,
      headers: { 'Content-Type': 'application/json', ...(retryAfter ? { 'Retry-After': retryAfter } : {}) },
    }),
  )

describe('backend errors shown in the page language', () => {
  it('says an upload over the limit in MB, not bytes', async () => {
    const state = errorState(await backendError(413, 'upload is 31457280 bytes; the limit is 25 MB', 'upload_too_large'))
    expect(shown(state, 'en')).toBe('The file is 30 MB, over the server’s upload limit of 25 MB.')
    expect(shown(state, 'zh')).toBe('文件大小 30 MB，超过服务器 25 MB 的上传限制。')
    expect(state.code).toBe('upload_too_large')
  })
  it('converts the byte limit the request-size check gives', async () => {
    const state = errorState(await backendError(413, 'the request body is 2202009 bytes; the limit is 1048576', 'upload_too_large'))
    expect(shown(state, 'en')).toBe('The file is 2.1 MB, over the server’s upload limit of 1 MB.')
    expect(shown(state, 'en')).not.toMatch(/bytes|\d{5}/)
  })
  it('still says it without numbers when the backend gave none', async () => {
    const state = errorState(await backendError(413, 'the request body is over the upload limit', 'upload_too_large'))
    expect(shown(state, 'zh')).toBe('文件太大，服务器不接受。')
  })
  it('says too many pixels in megapixels', async () => {
    const state = errorState(await backendError(413, 'image is 160x120 = 19200 pixels; the limit is 10000', 'image_too_large'))
    expect(shown(state, 'en')).toBe('The image is 160×120 (0.019 MP), over the server’s limit of 0.01 MP.')
    expect(shown(state, 'zh')).toBe('图片为 160×120（0.019 百万像素），超过服务器 0.01 百万像素的限制。')
  })
  it('says an output over the limit and suggests a smaller scale', async () => {
    const detail = 'output would be 8000x6000 = 48000000 pixels; the limit is 33554432'
    const state = errorState(await backendError(413, detail, 'output_too_large'))
    expect(shown(state, 'en')).toBe('The result would be 8000×6000 (48 MP), over the server’s limit of 34 MP. Choose a smaller scale.')
    expect(shown(state, 'zh')).toContain('请选择更小的倍数')
  })
  it.each([
    ['invalid_image', 415, 'The server could not read this file as an image.', '服务器无法将此文件读取为图片。'],
    ['unsupported_media_type', 415, 'The server could not read this file as an image.', '服务器无法将此文件读取为图片。'],
    ['truncated_image', 422, 'The image file is incomplete (cut off), so the server could not read it.', '图片文件不完整（被截断），服务器无法读取。'],
    ['empty_upload', 400, 'The file is empty.', '文件是空的。'],
    ['decompression_bomb', 413, 'The image claims far more pixels than its file can hold; the server refused it as unsafe.', '图片声明的像素远超其文件所能容纳，服务器出于安全考虑拒绝处理。'],
    ['unauthorized', 401, 'The server refused the request: the API key is missing or wrong (apiKey in config.json).', '服务器拒绝了请求：API 密钥缺失或错误（config.json 中的 apiKey）。'],
    ['out_of_memory', 507, 'The server ran out of memory for this image. Try a smaller scale or image.', '服务器处理此图片时内存不足。请尝试更小的倍数或图片。'],
    ['model_not_found', 404, 'The server does not have this model.', '服务器上没有这个模型。'],
    ['job_not_found', 404, 'The server no longer has this job (it may have restarted). Start it again.', '服务器上已没有这个任务（可能已重启）。请重新开始。'],
  ])('translates %s', async (code, status, en, zh) => {
    const state = errorState(await backendError(status, 'some English the backend wrote', code))
    expect([shown(state, 'en'), shown(state, 'zh'), state.code]).toEqual([en, zh, code])
  })
  it.each(['invalid_image', 'unsupported_media_type', 'model_not_found'])(
    "keeps the backend's reason under the translation of %s",
    async (code) => {
      const detail = 'The file is a SVG image, which is not supported; use PNG, JPEG, WebP, BMP, TIFF or GIF.'
      const state = errorState(await backendError(415, detail, code))
      expect(state.key).toBeDefined()
      expect(state.detail).toBe(detail)
    },
  )
  it('adds no second line where the translation already says it all', async () => {
    const state = errorState(await backendError(413, 'upload is 31457280 bytes; the limit is 25 MB', 'upload_too_large'))
    expect(state.detail).toBeUndefined()
    const lost = errorState(await backendError(404, "'3f2a' is not a job id", 'job_not_found'))
    expect(lost.detail).toBeUndefined()
  })
  it('says when to retry a full queue, from Retry-After', async () => {
    for (const code of ['queue_full', 'job_storage_full']) {
      const state = errorState(await backendError(503, 'the queue is full (8 jobs waiting); retry later', code, '12'))
      expect(shown(state, 'en')).toBe('The server is busy. Try again in 12 s.')
      expect(shown(state, 'zh')).toBe('服务器正忙，请在 12 秒后重试。')
    }
    const now = errorState(await backendError(503, 'the queue is full', 'queue_full'))
    expect(shown(now, 'zh')).toBe('服务器正忙，请稍后重试。')
  })
  it('says the same for a job that failed with a known code', () => {
    const state = errorState(new ApiError('CUDA out of memory at tile 16', 500, 'out_of_memory'))
    expect(shown(state, 'zh')).toBe('服务器处理此图片时内存不足。请尝试更小的倍数或图片。')
  })
  it("keeps the backend's own text for a code the page does not know", async () => {
    const state = errorState(await backendError(422, 'scale: must be between 1 and 8', 'unsupported_option'))
    expect(shown(state, 'zh')).toBe('scale: must be between 1 and 8')
    expect(state.code).toBe('unsupported_option')
  })
})
