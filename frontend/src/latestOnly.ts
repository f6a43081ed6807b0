/**
 * Tells an async task whether a newer one has begun since: files dropped or pasted one after
 * another decode in parallel, and a big one can finish after a small one dropped later.
 */
export interface LatestOnly {
  /** Marks a new task as the latest; the returned check says whether it still is. */
  begin(): () => boolean
}

export function latestOnly(): LatestOnly {
  let latest = 0
  return {
    begin() {
      const mine = ++latest
      return () => mine === latest
    },
  }
}
