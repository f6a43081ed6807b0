import { deviceLabel, type Engine } from '../engine'
import type { Lang, Translate } from '../i18n'

interface TopBarProps {
  engine: Engine
  lang: Lang
  onLangChange: (lang: Lang) => void
  t: Translate
}

/** Title, the engine in use (the e2e tests wait on its data-engine), and the language switch; App puts it in the page's <header>. */
export function TopBar({ engine, lang, onLangChange, t }: TopBarProps) {
  return (
    <div className="topbar">
      <div className="brand">
        <div className="logo" aria-hidden="true">4×</div>
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
          <select value={lang} data-testid="lang" onChange={(e) => onLangChange(e.target.value as Lang)}>
            {/* Each name in its own language (WCAG 3.1.2), whatever the page's. */}
            <option value="zh" lang="zh-CN">
              中文
            </option>
            <option value="en" lang="en">
              English
            </option>
          </select>
        </label>
      </div>
    </div>
  )
}
