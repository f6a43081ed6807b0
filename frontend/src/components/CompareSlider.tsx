import { useState } from 'react'

interface Props {
  before: string
  after: string
  width: number
  height: number
  beforeLabel: string
  afterLabel: string
}

/**
 * Before/after comparison: the original (stretched to the result's size) left of the handle, the
 * result right of it. Each layer is clipped to its own side rather than stacked, so transparent
 * areas of one never show the other through them.
 */
export function CompareSlider({ before, after, width, height, beforeLabel, afterLabel }: Props) {
  const [pos, setPos] = useState(50)
  return (
    <div className="compare" style={{ aspectRatio: `${width} / ${height}` }} data-testid="compare">
      <img
        className="compare-img"
        src={after}
        alt={afterLabel}
        data-testid="result-image"
        draggable={false}
        style={{ clipPath: `inset(0 0 0 ${pos}%)` }}
      />
      <img
        className="compare-img compare-before"
        src={before}
        alt={beforeLabel}
        data-testid="before-image"
        draggable={false}
        style={{ clipPath: `inset(0 ${100 - pos}% 0 0)` }}
      />
      {/* Drawn for the pointer; the range input below is what assistive technology gets. */}
      <div className="compare-line" style={{ left: `${pos}%` }} aria-hidden="true">
        <span className="compare-knob">⇔</span>
      </div>
      <span className="compare-tag compare-tag-left">{beforeLabel}</span>
      <span className="compare-tag compare-tag-right">{afterLabel}</span>
      <input
        className="compare-range"
        type="range"
        min={0}
        max={100}
        step={0.5}
        value={pos}
        aria-label={`${beforeLabel} / ${afterLabel}`}
        onChange={(e) => setPos(Number(e.target.value))}
      />
    </div>
  )
}
