import { GateError } from '../errors.js';

/** An SPDX license expression (SPDX spec, annex D): ids, `+`, WITH, AND, OR, parentheses. */
export type LicenseExpression =
  | { readonly op: 'license'; readonly id: string }
  | { readonly op: 'and' | 'or'; readonly left: LicenseExpression; readonly right: LicenseExpression };

const TOKEN = /\s*(\(|\)|[A-Za-z0-9.+:-]+)/y;

export function parseLicenseExpression(text: string, where: string): LicenseExpression {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const match = TOKEN.exec(text);
    if (!match) throw bad(text, where, `unexpected character at ${TOKEN.lastIndex}`);
    tokens.push(match[1] as string);
  }
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const next = (): string | undefined => tokens[position++];

  const parseOr = (): LicenseExpression => {
    let left = parseAnd();
    while (peek()?.toUpperCase() === 'OR') {
      next();
      left = { op: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): LicenseExpression => {
    let left = parseAtom();
    while (peek()?.toUpperCase() === 'AND') {
      next();
      left = { op: 'and', left, right: parseAtom() };
    }
    return left;
  };
  const parseAtom = (): LicenseExpression => {
    const token = next();
    if (token === undefined) throw bad(text, where, 'ends too early');
    if (token === '(') {
      const inner = parseOr();
      if (next() !== ')') throw bad(text, where, 'a parenthesis is not closed');
      return inner;
    }
    if (token === ')' || ['AND', 'OR', 'WITH'].includes(token.toUpperCase())) throw bad(text, where, `unexpected ${token}`);
    // An exception only adds permissions, so "X WITH exception" is judged as X.
    if (peek()?.toUpperCase() === 'WITH') {
      next();
      const exception = next();
      if (exception === undefined || exception === '(' || exception === ')') throw bad(text, where, 'WITH needs an exception id');
    }
    return { op: 'license', id: token.replace(/\+$/, '') };
  };

  const expression = parseOr();
  if (position !== tokens.length) throw bad(text, where, `unexpected ${tokens[position]}`);
  return expression;
}

/** Whether the allowed ids (compared case-insensitively) satisfy the expression. */
export function licenseSatisfied(expression: LicenseExpression, allowed: ReadonlySet<string>): boolean {
  switch (expression.op) {
    case 'license':
      return allowed.has(expression.id.toLowerCase());
    case 'and':
      return licenseSatisfied(expression.left, allowed) && licenseSatisfied(expression.right, allowed);
    case 'or':
      return licenseSatisfied(expression.left, allowed) || licenseSatisfied(expression.right, allowed);
  }
}

function bad(text: string, where: string, problem: string): GateError {
  return new GateError('GATE_SBOM_INVALID', `${where}: license expression ${JSON.stringify(text)} does not parse: ${problem}`);
}
