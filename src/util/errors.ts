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

/**
 * Hide the password of a connection string before it reaches a message or a log, in every form the
 * PostgreSQL driver accepts: user:password@host (the password may itself hold unescaped '@' or ':'; the
 * host starts after the last '@'), a ?password= / &password= query parameter, and key=value conninfo.
 */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon < 0 ? `${scheme}${userinfo}@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
  out = out.replace(/([?&;]password=)[^&#\s]*/gi, '$1***');
  out = out.replace(/\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"\\&]+)/gi, '$1***');
  return out;
}
