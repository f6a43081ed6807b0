import type { Engine, FallbackReason } from '../engine'
import type { Translate } from '../i18n'

interface FallbackBannerProps {
  engine: Engine
  /** The backend address named when it is unreachable. */
  apiUrl: string
  t: Translate
}

function bannerText(reason: FallbackReason, apiUrl: string, t: Translate): string {
  if (reason === 'forced') return t('browserForced')
  if (reason === 'loading') return t('fallbackLoading')
  if (reason === 'unhealthy') return t('fallbackUnhealthy')
  return t('fallbackUnreachable', { url: apiUrl || window.location.origin })
}

/** Why jobs run in the browser: a note when configured so, a warning when the backend let us down. */
export function FallbackBanner({ engine, apiUrl, t }: FallbackBannerProps) {
  if (engine.kind !== 'browser') return null
  const tone = engine.reason !== 'forced' ? 'banner-warn' : 'banner-info'
  return (
    <div className={`banner ${tone}`} data-testid="fallback-banner" data-reason={engine.reason}>
      {bannerText(engine.reason, apiUrl, t)}
    </div>
  )
}
