/** Process exit codes of `sluice` (documented in docs/cli.md). */
export const ExitCode = {
  /** Success; `run`: every connector stopped cleanly (signal, or its source finished). */
  OK: 0,
  /** A runtime failure: a connector failed (non-retriable error, or retries exhausted), an internal error. */
  FAILURE: 1,
  /** Bad command line or bad configuration: nothing was started, no connection was attempted. */
  USAGE: 2,
  /** The database is not set up for CDC (`validate` found problems, or `run` stopped on a PrerequisiteError). */
  PREREQUISITES: 3,
  /** A stored offset cannot be used (purged binlog, dropped slot, unreadable offsets file). */
  OFFSET: 4,
  /** A second SIGINT/SIGTERM cut a graceful stop short. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
