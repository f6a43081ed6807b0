import { useRef, useState } from 'react'
import type { AppConfig } from './config'
import type { OutputFormat } from './filename'
import { FallbackBanner } from './components/FallbackBanner'
import { JobActions } from './components/JobActions'
import { JobSettings } from './components/JobSettings'
import { LimitWarning } from './components/LimitWarning'
import { ProgressCard } from './components/ProgressCard'
import { ResultStage } from './components/ResultStage'
import { SourcePicker } from './components/SourcePicker'
import { StatusMessages } from './components/StatusMessages'
import { TopBar } from './components/TopBar'
import { useEngine, useEngineRecheck } from './hooks/useEngine'
import { useFileChooser } from './hooks/useFileChooser'
import { useFocusAfterLoad } from './hooks/useFocusAfterLoad'
import { useFocusAfterReset } from './hooks/useFocusAfterReset'
import { useJobFeedback } from './hooks/useJobFeedback'
import { useLanguage } from './hooks/useLanguage'
import { useModelChoice } from './hooks/useModelChoice'
import { useResultImage } from './hooks/useResultImage'
import { useSourceImage } from './hooks/useSourceImage'
import { useUpscaleJob } from './hooks/useUpscaleJob'
import { useWindowDropAndPaste } from './hooks/useWindowDropAndPaste'

/** Wires the hooks (state and jobs) to the components (view); no logic of its own. */
export default function App({ config }: { config: AppConfig }) {
  const { lang, changeLang, t } = useLanguage()
  const { engine, checkEngine, fallBackDuringJob, serverLimits, serverModels, modelsLoading, modelsFailed, serverModelList } = useEngine(config)
  const serverUp = engine.kind === 'server'
  const { model, setModel, options: modelOptions, loading: modelsPending, modelFor, unavailable, listFailed } = useModelChoice(
    config.defaultModel,
    engine,
    serverModels,
    modelsLoading,
    modelsFailed,
  )
  const [scale, setScale] = useState(4)
  const [format, setFormat] = useState<OutputFormat>('png')
  const { messages, feedback } = useJobFeedback()
  const { result, showResult, clearResult } = useResultImage()
  const job = useUpscaleJob({ config, engine, checkEngine, fallBackDuringJob, serverLimits, serverModelList, model, modelFor, scale, format, feedback, showResult, clearResult })
  const { source, loadFile, reset } = useSourceImage({ busyRef: job.busyRef, running: job.running, feedback, clearResult })
  useEngineRecheck(checkEngine, job.running, config.mode)
  const dragging = useWindowDropAndPaste(loadFile)
  const { inputRef, chooseFile } = useFileChooser()
  const mainAction = useRef<HTMLButtonElement>(null)
  const canStart = !!source && engine.kind !== 'checking'
  useFocusAfterLoad(source, canStart, mainAction)
  const dropzone = useRef<HTMLButtonElement>(null)
  useFocusAfterReset(source, dropzone)

  return (
    <div className={`app${dragging ? ' is-dragging' : ''}`}>
      {/* The banner landmark holds the mode note too, so no content is outside a landmark. */}
      <header className="masthead">
        <TopBar engine={engine} lang={lang} onLangChange={changeLang} t={t} />
        <FallbackBanner engine={engine} apiUrl={config.apiUrl} t={t} />
      </header>

      <main className="layout">
        <section className="card controls">
          <SourcePicker
            source={source}
            scale={scale}
            dragging={dragging}
            inputRef={inputRef}
            dropzoneRef={dropzone}
            chooseFile={chooseFile}
            onFile={(file) => void loadFile(file)}
            t={t}
          />
          <JobSettings
            models={modelOptions}
            model={model}
            loading={modelsPending}
            onModelChange={setModel}
            unavailable={unavailable}
            listFailed={listFailed}
            scale={scale}
            onScaleChange={setScale}
            showFormat={serverUp}
            format={format}
            onFormatChange={setFormat}
            disabled={job.running}
            t={t}
          />
          <JobActions
            running={job.running}
            canStart={canStart}
            hasSource={!!source}
            onStart={() => void job.start(source, false)}
            onReset={reset}
            onCancel={job.cancel}
            mainButton={mainAction}
            t={t}
          />
          {messages.warnings && (
            <LimitWarning
              warnings={messages.warnings}
              onContinue={() => void job.start(source, true)}
              onBack={() => feedback.setWarnings(null)}
              returnFocus={mainAction}
              t={t}
            />
          )}
          {job.run && <ProgressCard run={job.run} engine={engine} t={t} />}
          <StatusMessages messages={messages} t={t} />
        </section>

        <ResultStage source={source} result={result} chooseFile={chooseFile} t={t} />
      </main>
      <footer className="foot">Real-ESRGAN · onnxruntime-web · {config.mode}</footer>
    </div>
  )
}
