/** Models offered for in-browser inference (ONNX exported by the backend or shipped in the build). */
export interface BrowserModel {
  name: string
  scale: number
  /** Approximate download size of the fp32 ONNX file. */
  sizeMB: number
  small: boolean
}

export const BROWSER_MODELS: BrowserModel[] = [
  { name: 'realesr-animevideov3', scale: 4, sizeMB: 2.5, small: true },
  { name: 'RealESRGAN_x4plus', scale: 4, sizeMB: 67, small: false },
]

export function browserModel(name: string): BrowserModel | undefined {
  return BROWSER_MODELS.find((m) => m.name === name)
}
