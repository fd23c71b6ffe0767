// Text from outside (file bytes, server messages) made safe to print on a terminal: control characters and
// escape sequences are shown as \xNN / \uNNNN instead of being sent to the terminal, where they could
// rewrite the screen or hide the rest of the message.
/* eslint-disable no-control-regex */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffd]/g;

/** `s` with every control character (but tab and newline) escaped; long inputs cut to `max` characters. */
export function printable(s: string, max = 4000): string {
  const cut = s.length > max ? s.slice(0, max) + `… (${s.length - max} more characters)` : s;
  return cut.replace(UNPRINTABLE, (ch) => {
    const c = ch.charCodeAt(0);
    if (ch === '\ufffd') return '\\ufffd';
    return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
  });
}
