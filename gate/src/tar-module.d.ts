// Minimal typing of the parts of `tar` (v6, untyped) that the gate uses: the streaming parser only.
declare module 'tar' {
  import type { EventEmitter } from 'node:events';

  export interface ReadEntry extends EventEmitter {
    readonly path: string;
    readonly type: string;
    readonly size: number;
    readonly linkpath?: string;
    resume(): this;
    [Symbol.asyncIterator](): AsyncIterator<Buffer>;
  }

  export interface ParserOptions {
    strict?: boolean;
    onentry?: (entry: ReadEntry) => void;
    onwarn?: (code: string, message: string) => void;
  }

  export class Parse extends EventEmitter {
    constructor(options?: ParserOptions);
    write(chunk: Buffer): boolean;
    end(chunk?: Buffer): void;
  }

  const tar: { Parse: typeof Parse };
  export default tar;
}
