// Secrets: the one list of key names that hold them, the config check that keeps them (and
// credentials inside URLs) out of files, and the redaction every printed or recorded error text
// goes through. Secrets come only from environment variables, so a config file can be committed.

/**
 * A key that holds a secret, by its last word: `token`, `bot_token`, `signing_secret`,
 * `password`, `api_key`, `pat`, ... The `*_env` keys that name an environment variable do not
 * match (their last word is `env`).
 */
export const SECRET_KEY = /^(?:[a-z0-9]+[_-])*(?:token|password|passwd|passphrase|secret|api[_-]?key|apikey|private[_-]?key|access[_-]?key|credentials?|pat)$/i;

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key);

/**
 * Maps whose keys are the user's own names (workflow states, projects, components, channels):
 * a state called "Token" is data, not a secret, so the key check does not look inside them.
 */
const USER_NAMED_MAPS = new Set(["states", "by_project", "by_component", "channel_teams"]);

export interface SecretFinding {
  path: (string | number)[];
  kind: "secret_key" | "url_userinfo";
}

/** True when `text` is an absolute URL that carries a user name or password (`https://u:p@host`). */
export function hasUrlUserinfo(text: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(text.trim())) return false;
  try {
    const url = new URL(text.trim());
    return url.username !== "" || url.password !== "";
  } catch {
    return true;
  }
}

/** Every secret-named key and every URL with credentials in a parsed config tree, with its path. */
export function findSecrets(raw: unknown): SecretFinding[] {
  const found: SecretFinding[] = [];
  const walk = (value: unknown, path: (string | number)[], userNamed: boolean) => {
    if (typeof value === "string") {
      if (hasUrlUserinfo(value)) found.push({ path, kind: "url_userinfo" });
    } else if (Array.isArray(value)) {
      value.forEach((entry, index) => walk(entry, [...path, index], false));
    } else if (value && typeof value === "object") {
      for (const [key, entry] of Object.entries(value)) {
        if (!userNamed && isSecretKey(key)) {
          found.push({ path: [...path, key], kind: "secret_key" });
          continue;
        }
        walk(entry, [...path, key], !userNamed && USER_NAMED_MAPS.has(key));
      }
    }
  };
  walk(raw, [], false);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Redaction

const REDACTED = "[redacted]";

/** Secret values read from the environment this process uses; redact() removes each wherever it appears. */
const knownSecrets = new Set<string>();

/**
 * Registers a secret value (and, given a user name, the base64 of `user:value` that Basic auth
 * sends) so no printed or recorded error text can carry it. Short values are skipped: replacing
 * every "ab" in a message would mangle it and hide nothing worth hiding.
 */
export function registerSecret(value: string | undefined, user?: string): void {
  if (!value || value.trim().length < 4) return;
  knownSecrets.add(value);
  if (user !== undefined) knownSecrets.add(Buffer.from(`${user}:${value}`).toString("base64"));
}

/** Registers the value of every environment variable whose name says it holds a secret. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (isSecretKey(name.toLowerCase())) registerSecret(value);
  }
}

// Credentials in a header or header-like text: `Authorization: Basic abc=`, `"authorization":"..."`,
// and a scheme followed by its credential wherever it stands.
const AUTH_HEADER = /(\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?)(?:(?:basic|bearer|token|digest)\s+)?[^\s"',;}]+/gi;
const AUTH_SCHEME = /\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]{6,}/gi;
// `?token=...`, `&api_key=...`, `access_token=...`: the value of a query parameter named like a secret.
const SECRET_PARAM = /([?&;](?:[a-z0-9]+[_-])*(?:token|password|passwd|secret|api[_-]?key|apikey|key|sig|signature|pat|auth|code)=)[^&\s"'#]+/gi;
// `scheme://user:password@host`
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi;
// Slack tokens have a fixed shape; they can turn up in an echoed request body.
const SLACK_TOKEN = /\bxox[abposre]-[A-Za-z0-9-]{8,}/g;

/**
 * Removes credentials from a text meant for a person or for a stored record: Authorization
 * header values, Basic/Bearer credentials, secret-named query parameters, user info in URLs, and
 * every secret value registered from the environment.
 */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(AUTH_HEADER, `$1${REDACTED}`)
    .replace(AUTH_SCHEME, (_match, scheme: string, space: string) => `${scheme}${space}${REDACTED}`)
    .replace(SECRET_PARAM, `$1${REDACTED}`)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(SLACK_TOKEN, REDACTED);
}

/** A URL without its user info, for texts and keys that must name a site but never its credentials. */
export function withoutUserinfo(text: string): string {
  return text.replace(URL_USERINFO, "$1");
}
