// A UserError is a problem with what the user asked for or gave us (bad flag, bad file, unreachable
// database). The CLI prints its message without a stack trace and exits with its code.
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}

/** Hide the password of a connection URL before it reaches a message or a log. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
