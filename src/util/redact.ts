// Credential removal for anything shown or logged: URL and key=value passwords, Telegram tokens, literal
// secrets. The one place that knows what a secret looks like.

export const CENSOR = '***';

// scheme://user:password@host → scheme://user:***@host, anywhere in a text.
// The password may itself hold an unescaped '@': the host starts after the last '@' before the path.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"']*:)[^\s/?#"']*@/gi;
// A URL's query parameter: ?password=secret or &password=secret (the next parameter is kept).
const QUERY_PASSWORD = /([?&;]password=)[^&#\s"']*/gi;
// libpq keyword/value strings: password=secret or password='se cret' (not a query parameter, handled above).
const KV_PASSWORD = /(^|[^?&;\w])(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'"\\]+)/gi;
// Telegram bot tokens (digits ':' 30+ url-safe chars), bare or inside an API path /bot<token>/.
const BOT_PATH = /\/bot\d+:[^/\s"'\\]+/g;
const BOT_TOKEN = /\b\d{5,}:[A-Za-z0-9_-]{30,}\b/g;

/**
 * Remove credentials from a text: passwords in URLs and key=value connection strings, Telegram tokens (shown
 * as `bot***`), and any literal `secrets` given (also in their JSON-escaped form, since this runs over
 * serialized log lines too). Secrets shorter than 4 characters are ignored: replacing every "a" in a log
 * would destroy it without protecting anything.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined | null)[] = envSecrets()): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join(CENSOR);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join(CENSOR);
  }
  return out
    .replace(URL_PASSWORD, `$1${CENSOR}@`)
    .replace(QUERY_PASSWORD, `$1${CENSOR}`)
    .replace(KV_PASSWORD, `$1$2${CENSOR}`)
    .replace(BOT_PATH, `/bot${CENSOR}`)
    .replace(BOT_TOKEN, `bot${CENSOR}`);
}

/**
 * A connection string fit to show: its password hidden in every form the PostgreSQL driver accepts
 * (user:password@host, where the password may hold unescaped '@' or ':'; a ?password= / &password= query
 * parameter; key=value conninfo). Only the URL's own forms, no literal secrets.
 */
export function redactUrl(url: string): string {
  return redactSecrets(url, []);
}

/** Secrets known from the environment: the Telegram token and a libpq password. */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.TELEGRAM_BOT_TOKEN, env.PGPASSWORD].filter((s): s is string => !!s);
}

