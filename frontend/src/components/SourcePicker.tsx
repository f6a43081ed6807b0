import type { RefObject } from 'react'
import type { Translate } from '../i18n'
import type { SourceImage } from '../job/types'
import { outputDims } from '../limits'

interface SourcePickerProps {
  source: SourceImage | null
  /** The output scale, for the "Output W×H" line. */
  scale: number
  dragging: boolean
  inputRef: RefObject<HTMLInputElement | null>
  /** The dropzone's button (the file chooser), which takes the focus after "New image". */
  dropzoneRef: RefObject<HTMLButtonElement | null>
  chooseFile: () => void
  onFile: (file: File) => void
  t: Translate
}

/** The dropzone until an image is loaded, then its thumbnail and sizes; plus the hidden file input. */
export function SourcePicker({ source, scale, dragging, inputRef, dropzoneRef, chooseFile, onFile, t }: SourcePickerProps) {
  const [ow, oh] = source ? outputDims(source.width, source.height, scale) : [0, 0]
  return (
    <>
      {!source ? (
        <button ref={dropzoneRef} type="button" className={`dropzone${dragging ? ' active' : ''}`} onClick={chooseFile} data-testid="dropzone">
          <span className="drop-icon" aria-hidden="true">⬆</span>
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
        ref={inputRef}
        type="file"
        accept="image/*"
        hidden
        data-testid="file-input"
        onChange={(e) => {
          const f = e.target.files?.[0]
          if (f) onFile(f)
          // Cleared so that choosing the same file again still fires a change.
          e.target.value = ''
        }}
      />
    </>
  )
}
