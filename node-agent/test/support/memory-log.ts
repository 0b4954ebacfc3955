import pino, { type Logger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A pino logger whose JSON lines land in `lines` (what an operator would read in the agent log). */
export function memoryLog(level = 'debug'): { log: Logger; lines: LogLine[]; messages: (msg: string | RegExp) => LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level }, { write: (line: string) => { lines.push(JSON.parse(line) as LogLine); } });
  const messages = (msg: string | RegExp) => lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  return { log, lines, messages };
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
