// Errors of the IaC tool. A diagnostic names where in the configuration it comes from
// (`main.tf:12,3: …`), as HCL's own parser does, so a user goes straight to the line.
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export class IacError extends Error {
  readonly pos: SourcePos | undefined;
  constructor(message: string, pos?: SourcePos) {
    super(pos ? `${pos.file}:${pos.line},${pos.column}: ${message}` : message);
    this.name = 'IacError';
    this.pos = pos;
  }
}

/** The state (or a saved plan) does not match: moved since the plan, or locked by another run. */
export class StateError extends IacError {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** An expression cannot be evaluated; the caller adds where it is (`IacError`). */
export class EvalError extends Error {}
