/**
 * What makes a file sensitive, as data. Name rules look at the path alone, case-insensitively (a
 * case-insensitive file system or a Windows host treats ID_RSA as id_rsa); content rules look
 * inside every text file. Messages never quote the matched value.
 */

export interface NameRule {
  readonly id: string;
  readonly description: string;
  /** Tested against the last path segment. */
  readonly basename?: RegExp;
  /** Tested against the whole path. */
  readonly path?: RegExp;
  readonly exceptBasename?: RegExp;
  /** A PEM file holding only certificates or public keys is not a secret. */
  readonly clearedByPublicPem?: boolean;
}

export const NAME_RULES: readonly NameRule[] = [
  { id: 'pem-file', description: 'PEM file that may hold a private key', basename: /\.pem$/i, clearedByPublicPem: true },
  { id: 'key-file', description: 'private key file (*.key)', basename: /\.key$/i },
  { id: 'ssh-key', description: 'SSH key file (id_rsa*, id_dsa*, id_ecdsa*, id_ed25519*)', basename: /^id_(rsa|dsa|ecdsa|ed25519)/i },
  { id: 'dotenv', description: 'environment file (.env)', basename: /^\.env(\..+)?$/i, exceptBasename: /\.(example|sample|template|dist)$/i },
  { id: 'git-metadata', description: 'Git metadata (.git/), which can hold history, remotes and credentials', path: /(^|\/)\.git(\/|$)/i },
  { id: 'keystore', description: 'key store (PKCS#12, JKS, KeePass)', basename: /\.(p12|pfx|jks|keystore|kdbx)$/i },
  { id: 'credential-file', description: 'credential file (.netrc, .pgpass, .htpasswd, .git-credentials)', basename: /^(\.netrc|_netrc|\.pgpass|\.htpasswd|\.git-credentials)$/i },
  { id: 'cloud-credentials', description: 'cloud CLI credentials', path: /(^|\/)\.(aws\/credentials|docker\/config\.json|kube\/config)$/i },
];

/**
 * Configuration formats, dotfiles that hold settings, shell scripts and container files: here a
 * value may stand unquoted (`password=…`, `ENV DB_PASSWORD …`), so an unquoted assignment counts.
 * In every other text file (source code, prose) only a quoted literal does.
 */
export const CONTENT_SCANNED_FILE: RegExp =
  /(\.(json|ya?ml|ini|conf|cfg|cnf|properties|toml|env|xml|pem)$)|(^|\/)(\.env(\..+)?|\.npmrc|\.netrc|\.pgpass|credentials|config)$/i;
const UNQUOTED_VALUE_FILE = /(\.(sh|bash|zsh|ksh|ps1|bat|cmd)$)|(^|\/)(Dockerfile|Containerfile)(\.[^/]*)?$/i;

/** A value that is a reference or placeholder, not a secret: ${X}, $X, <x>, {{x}}, %(x)s, ***, booleans, null. */
const NOT_A_VALUE = String.raw`(?!\$|<|\{|\[|%\(|\*|(?:null|none|true|false|changeme|xxx+)\b)`;
/** `key: value` or `key = value` with the value on the same line (a YAML key opening a block is not a value). */
const ASSIGNED_VALUE = String.raw`["']?[ \t]*[:=][ \t]*["']?${NOT_A_VALUE}[^\s"',;}\]]{3,}`;
/**
 * Literals that documentation and tests use in place of a secret: a reference or template, a word
 * standing for the value (`'secret'`, `'example'`, `'[Redacted]'`), an obvious stand-in (`'your-password'`).
 */
const PLACEHOLDER_LITERAL = String.raw`(?!\$|<|\{|\[|%\(|\*|(?:your|my|example)[-_ .]|(?:null|none|true|false|changeme|xxx+|example|sample|dummy|fake|test|secret|password|passwd|sensitive|redacted|placeholder)\1)`;
/** `key = "literal"`, `key: 'literal'`, `key := "…"`, `key => '…'`: a string literal assigned in source code. */
const QUOTED_LITERAL = (minLength: number): string =>
  String.raw`["']?[ \t]*(?::=|=>|[:=])[ \t]*(["'\`])${PLACEHOLDER_LITERAL}[^\s"'\`]{${minLength},}\1`;
/** A line break inside a PEM block as written in a file, or escaped inside a JSON or source string. */
const PEM_EOL = String.raw`(?:\r?\n|\\r?\\n)[ \t]*`;

/**
 * Patterns are written so that none can take more than linear time on hostile input: no unbounded
 * repetition before a literal, since every text file in the artifact is searched.
 */
export interface ContentRule {
  readonly id: string;
  readonly description: string;
  /** Searched in config-like files (CONTENT_SCANNED_FILE, shell scripts, Dockerfiles), and in every text file unless `quotedPattern` is set. */
  readonly pattern: RegExp;
  /** Searched instead of `pattern` in other text files (source code, prose), where only a quoted literal is a value. */
  readonly quotedPattern?: RegExp;
}

const PASSWORD_KEY = String.raw`(?:password|passwd|pwd)\b`;
const SECRET_KEY = String.raw`(?:secret|api[_-]?key|access[_-]?token|auth[_-]?token|private[_-]?key)\b`;

export const CONTENT_RULES: readonly ContentRule[] = [
  {
    id: 'private-key-block',
    description: 'private key block',
    // The header followed by key material: code that only names the header (`indexOf('-----BEGIN PRIVATE KEY-----')`) is not a key.
    pattern: new RegExp(String.raw`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[ \t]*${PEM_EOL}(?:[A-Za-z-]+:[^\r\n\\]*${PEM_EOL})*(?:${PEM_EOL})?[A-Za-z0-9+/]{16}`),
  },
  { id: 'aws-access-key-id', description: 'AWS access key ID', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { id: 'aws-secret-access-key', description: 'AWS secret access key', pattern: /aws_?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/i },
  { id: 'gcp-api-key', description: 'Google Cloud API key', pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/ },
  { id: 'azure-storage-key', description: 'Azure storage account key', pattern: /AccountKey=[A-Za-z0-9+/]{86}==/ },
  {
    id: 'password-assignment',
    description: 'password assignment',
    pattern: new RegExp(PASSWORD_KEY + ASSIGNED_VALUE, 'i'),
    quotedPattern: new RegExp(PASSWORD_KEY + QUOTED_LITERAL(4), 'i'),
  },
  {
    id: 'secret-assignment',
    description: 'secret, API key or token assignment',
    pattern: new RegExp(SECRET_KEY + ASSIGNED_VALUE, 'i'),
    quotedPattern: new RegExp(SECRET_KEY + QUOTED_LITERAL(8), 'i'),
  },
  // Anchored on `://` (found fast), with the scheme's last character checked behind it.
  { id: 'url-credentials', description: 'password inside a connection URL', pattern: /(?<=[a-z0-9+.-]):\/\/[^\s:@/"']{1,256}:(?!\$\{)[^\s@/"']{1,256}@/i },
  { id: 'npm-token', description: 'npm registry token', pattern: /_authToken[ \t]*=[ \t]*(?!\$\{)\S+|\bnpm_[A-Za-z0-9]{36}\b/ },
  { id: 'github-token', description: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{82}\b/ },
  { id: 'slack-token', description: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
];

/** The rules for one file, each with the pattern that fits its kind of text. */
export function contentPatternsFor(path: string): ReadonlyArray<{ readonly rule: ContentRule; readonly pattern: RegExp }> {
  const unquotedValues = CONTENT_SCANNED_FILE.test(path) || UNQUOTED_VALUE_FILE.test(path);
  return CONTENT_RULES.map((rule) => ({ rule, pattern: unquotedValues || !rule.quotedPattern ? rule.pattern : rule.quotedPattern }));
}

const PUBLIC_PEM_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'PUBLIC KEY', 'X509 CRL']);

/** True when every PEM block in the text is a certificate, CRL or public key (and there is one). */
export function isPublicOnlyPem(text: string): boolean {
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((match) => match[1] as string);
  return labels.length > 0 && labels.every((label) => PUBLIC_PEM_LABELS.has(label));
}
