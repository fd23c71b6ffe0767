// Telling a lost database connection apart from a problem with one asset's data (kept small: the CLI's error
// reporting needs it before any command module is loaded).

const SYSTEMIC_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

/** Errors that mean the database went away, as opposed to a problem with one asset's data. */
export function isSystemic(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return SYSTEMIC_CODES.has(err?.code ?? '') || /Connection terminated|connection error|database has been closed|Connection closed|Query read timeout|timeout exceeded when trying to connect/i.test(err?.message ?? '');
}
