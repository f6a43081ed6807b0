import { describe, expect, it } from 'vitest'
import { ModelMissing } from '../src/browser/modelFetch'
import { errorState, isAbort, untilAborted } from '../src/job/errors'
import { parseOutputSize } from '../src/job/serverJob'
import { ApiError } from '../src/api/errors'

describe('errorState', () => {
  it('explains a missing browser model by key', () => {
    expect(errorState(new ModelMissing('realesr-animevideov3', 'HTML'))).toEqual({
      key: 'modelNotInstalled',
      params: { name: 'realesr-animevideov3' },
    })
  })
  it("keeps the backend's detail and code as they came for a code the page does not translate", () => {
    expect(errorState(new ApiError('scale: must be 1 to 8', 422, 'unsupported_option'))).toEqual({ message: 'scale: must be 1 to 8', code: 'unsupported_option' })
  })
  it('says what happened when the server no longer knows a running job (restarted, or its result expired)', () => {
    // The backend's own words ("'3f2a' is not a job id") read as if the page had made a mistake.
    expect(errorState(new ApiError("'3f2a' is not a job id", 404, 'job_not_found'))).toEqual({ key: 'errJobLost', code: 'job_not_found' })
  })
  it('translates a proxy page by its key', () => {
    const err = new ApiError('the server answered 418', 418)
    err.key = 'errHttpStatus'
    err.params = { status: 418 }
    expect(errorState(err)).toEqual({ key: 'errHttpStatus', params: { status: 418 }, code: null })
  })
  it('shows anything else by its message', () => {
    expect(errorState(new Error('boom'))).toEqual({ message: 'boom' })
    expect(errorState('plain')).toEqual({ message: 'plain' })
  })
})

describe('cancelling', () => {
  it('tells an abort from a failure', () => {
    expect(isAbort(new DOMException('cancelled', 'AbortError'))).toBe(true)
    expect(isAbort(new DOMException('x', 'NetworkError'))).toBe(false)
    expect(isAbort(new Error('AbortError'))).toBe(false)
  })

  it('untilAborted settles with the promise', async () => {
    const signal = new AbortController().signal
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7)
    await expect(untilAborted(Promise.reject(new Error('no')), signal)).rejects.toThrow('no')
  })

  it('untilAborted rejects at once when the signal fires, even if the promise never settles', async () => {
    const abort = new AbortController()
    const pending = untilAborted(new Promise<never>(() => undefined), abort.signal)
    abort.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await expect(untilAborted(Promise.resolve(1), abort.signal)).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('parseOutputSize', () => {
  it('reads WxH, else [0, 0] so the image itself is measured', () => {
    expect(parseOutputSize('384x288')).toEqual([384, 288])
    expect(parseOutputSize(null)).toEqual([0, 0])
    expect(parseOutputSize('384')).toEqual([0, 0])
    expect(parseOutputSize('axb')).toEqual([0, 0])
    expect(parseOutputSize('1x2x3')).toEqual([0, 0])
  })
})
