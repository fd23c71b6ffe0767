// The PostgreSQL network timeouts, so that a frozen connection ends in the normal failure path instead of a
// wait without end. Each comes from the connection URL if given there, else from the environment, else the
// default below; 0 turns one off.
//   connect:   connect_timeout=S (URL, seconds, as libpq)   | TALAB_PG_CONNECT_TIMEOUT (s)   | 10 s
//   statement: statement_timeout=MS (URL, milliseconds)     | TALAB_PG_STATEMENT_TIMEOUT (s) | 600 s
//   idle:      idle_in_transaction_session_timeout=MS (URL) | TALAB_PG_IDLE_TIMEOUT (s)      | 600 s
import { UserError } from '../../util/errors.js';

export interface PgTimeouts {
  connectMs: number;
  statementMs: number;
  idleMs: number;
}

function num(what: string, v: string, unitMs: number): number {
  if (!/^\d+(\.\d+)?$/.test(v.trim())) throw new UserError(`${what} must be a number ≥ 0, got '${v}'`);
  return Math.round(Number(v) * unitMs);
}

function urlParam(url: string, key: string): string | undefined {
  const m = new RegExp(`[?&]${key}=([^&#]*)`).exec(url);
  return m ? decodeURIComponent(m[1]) : undefined;
}

export function pgTimeouts(url: string, env: NodeJS.ProcessEnv = process.env): PgTimeouts {
  const pick = (param: string, paramUnitMs: number, envKey: string, defSeconds: number): number => {
    const p = urlParam(url, param);
    if (p !== undefined) return num(`${param} in the database URL`, p, paramUnitMs);
    const e = env[envKey];
    if (e !== undefined && e !== '') return num(envKey, e, 1000);
    return defSeconds * 1000;
  };
  return {
    connectMs: pick('connect_timeout', 1000, 'TALAB_PG_CONNECT_TIMEOUT', 10),
    statementMs: pick('statement_timeout', 1, 'TALAB_PG_STATEMENT_TIMEOUT', 600),
    idleMs: pick('idle_in_transaction_session_timeout', 1, 'TALAB_PG_IDLE_TIMEOUT', 600),
  };
}

/**
 * The client's own limit on an answer: a little after the server's statement timeout (the server's own error
 * is the better message), by at most 5 s and at most the timeout itself, so a small timeout stays small.
 */
export function clientTimeoutMs(t: PgTimeouts): number {
  return t.statementMs ? t.statementMs + Math.min(5_000, t.statementMs) : 0;
}
