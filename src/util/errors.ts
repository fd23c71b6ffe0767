// A UserError is a problem with what the user asked for or gave us (bad flag, bad file), or with the
// database being out of reach. The CLI prints its message without a stack trace and exits with its code.

/** The exit codes of every command, for scripts and cron jobs to tell a typo from an outage. */
export const EXIT = {
  ok: 0,
  /** A component failed: an asset, a step, a validation check, a baseline comparison, a lost connection mid-run. */
  failure: 1,
  /** Usage: a bad flag or value, a missing file, a database that does not exist. */
  usage: 2,
  /** The database cannot be reached or is locked by another process. */
  database: 3,
} as const;

export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.usage) {
    super(message);
    this.name = 'UserError';
  }
}

