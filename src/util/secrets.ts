/**
 * Secrets in designs: `${NAME}` placeholders expanded from the environment, and URLs
 * printed without their passwords.
 */

/** A `${NAME}` placeholder names an environment variable that is not set. */
export class MissingEnvVarError extends Error {
  readonly variable: string;
  constructor(variable: string) {
    super(`environment variable ${variable} is not set (referenced as \${${variable}})`);
    this.name = 'MissingEnvVarError';
    this.variable = variable;
  }
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces every `${NAME}` in `text` with the value of NAME in `env`; throws when one is unset. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new MissingEnvVarError(name);
    return value;
  });
}

/**
 * Hides the password of a URL: `postgres://u:secret@h/db` → `postgres://u:***@h/db`.
 * Works on text that is not a parseable URL too (the userinfo part is rewritten by pattern).
 */
export function redactUrl(url: string): string {
  // scheme://user:password@host... — the password runs up to the last '@' before the host part.
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)@/.exec(url);
  if (m) {
    const scheme = m[1] ?? '';
    const userinfo = m[2] ?? '';
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      return `${scheme}${userinfo.slice(0, colon)}:***@${url.slice(m[0].length)}`;
    }
  }
  // password=… in a query string or key/value connection string
  return url.replace(/(\bpassword=)([^&\s]*)/gi, '$1***');
}
