import { useCallback, useEffect, useState } from 'react'
import { initialLang, saveLang, translate, type Lang, type MessageKey, type Translate } from '../i18n'

/** The UI language: remembered across visits, and mirrored to <html lang> and the page title. */
export function useLanguage(): { lang: Lang; changeLang: (lang: Lang) => void; t: Translate } {
  const [lang, setLang] = useState<Lang>(initialLang)
  const t = useCallback(
    (key: MessageKey, params?: Record<string, string | number>) => translate(lang, key, params),
    [lang],
  )
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
    document.title = translate(lang, 'title')
  }, [lang])
  const changeLang = useCallback((next: Lang) => {
    setLang(next)
    saveLang(next)
  }, [])
  return { lang, changeLang, t }
}
