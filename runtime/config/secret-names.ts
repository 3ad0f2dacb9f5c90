/** Field names whose values are secrets: passwords, tokens, keys, credentials, SASL settings. */
const SECRET_FIELD =
  /pass(word|wd|phrase)|secret|token|api_?key|private_?key|authorization|credential|^sasl/i;

/** Environment variable names whose values are secrets. */
const SECRET_VARIABLE = /PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL/i;

/** A `scheme://user:password@host` URL: group 1 is everything before the password, group 2 the password. */
export const URL_PASSWORD = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s/]*)@/g;

/** True when a config field of this name holds a secret (`password`, `api_key`, `sasl_password`, …). */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** True when an environment variable of this name holds a secret (`PG_PASSWORD`, `API_TOKEN`, …). */
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLE.test(name);
}
