/**
 * What makes a file sensitive, as data. Name rules look at the path alone; content rules look
 * inside config-like files. Messages never quote the matched value.
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
  { id: 'ssh-key', description: 'SSH key file (id_rsa*, id_dsa*, id_ecdsa*, id_ed25519*)', basename: /^id_(rsa|dsa|ecdsa|ed25519)/ },
  { id: 'dotenv', description: 'environment file (.env)', basename: /^\.env(\..+)?$/, exceptBasename: /\.(example|sample|template|dist)$/ },
  { id: 'git-metadata', description: 'Git metadata (.git/), which can hold history, remotes and credentials', path: /(^|\/)\.git(\/|$)/ },
  { id: 'keystore', description: 'key store (PKCS#12, JKS, KeePass)', basename: /\.(p12|pfx|jks|keystore|kdbx)$/i },
  { id: 'credential-file', description: 'credential file (.netrc, .pgpass, .htpasswd, .git-credentials)', basename: /^(\.netrc|_netrc|\.pgpass|\.htpasswd|\.git-credentials)$/ },
  { id: 'cloud-credentials', description: 'cloud CLI credentials', path: /(^|\/)\.(aws\/credentials|docker\/config\.json|kube\/config)$/ },
];

/** Files whose contents are searched: configuration formats and dotfiles that hold settings. */
export const CONTENT_SCANNED_FILE: RegExp =
  /(\.(json|ya?ml|ini|conf|cfg|cnf|properties|toml|env|xml|pem)$)|(^|\/)(\.env(\..+)?|\.npmrc|\.netrc|\.pgpass|credentials|config)$/i;

/** A value that is a reference or placeholder, not a secret: ${X}, $X, <x>, {{x}}, %(x)s, ***, booleans, null. */
const NOT_A_VALUE = String.raw`(?!\$|<|\{|\[|%\(|\*|(?:null|none|true|false|changeme|xxx+)\b)`;
/** `key: value` or `key = value` with the value on the same line (a YAML key opening a block is not a value). */
const ASSIGNED_VALUE = String.raw`["']?[ \t]*[:=][ \t]*["']?${NOT_A_VALUE}[^\s"',;}\]]{3,}`;

export interface ContentRule {
  readonly id: string;
  readonly description: string;
  readonly pattern: RegExp;
}

export const CONTENT_RULES: readonly ContentRule[] = [
  { id: 'private-key-block', description: 'private key block', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { id: 'aws-access-key-id', description: 'AWS access key ID', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { id: 'aws-secret-access-key', description: 'AWS secret access key', pattern: /aws_?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/i },
  { id: 'password-assignment', description: 'password assignment', pattern: new RegExp(String.raw`\b[\w.-]*(?:password|passwd|pwd)\b${ASSIGNED_VALUE}`, 'i') },
  {
    id: 'secret-assignment',
    description: 'secret, API key or token assignment',
    pattern: new RegExp(String.raw`\b[\w.-]*(?:secret|api[_-]?key|access[_-]?token|auth[_-]?token|private[_-]?key)\b${ASSIGNED_VALUE}`, 'i'),
  },
  { id: 'url-credentials', description: 'password inside a connection URL', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/"']+:(?!\$\{)[^\s@/"']+@/i },
  { id: 'npm-token', description: 'npm registry token', pattern: /_authToken[ \t]*=[ \t]*(?!\$\{)\S+/ },
  { id: 'github-token', description: 'GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36}\b/ },
  { id: 'slack-token', description: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
];

const PUBLIC_PEM_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'PUBLIC KEY', 'X509 CRL']);

/** True when every PEM block in the text is a certificate, CRL or public key (and there is one). */
export function isPublicOnlyPem(text: string): boolean {
  const labels = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((match) => match[1] as string);
  return labels.length > 0 && labels.every((label) => PUBLIC_PEM_LABELS.has(label));
}
