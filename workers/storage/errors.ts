// Typed errors of the storage layer, so callers can tell "missing", "corrupt" and "bad request"
// apart without parsing messages or knowing which backend produced them.

/** The key does not exist in the blob store. */
export class NotFoundError extends Error {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super(`blob not found: ${key}`, options);
    this.name = 'NotFoundError';
    this.key = key;
  }
}

/** Why stored bytes were rejected: failed authentication, wrong plaintext hash, or unreadable layout. */
export type IntegrityFailure = 'authentication' | 'hash-mismatch' | 'format';

/** Stored data is corrupt, tampered with, swapped, or encrypted under another key. */
export class IntegrityError extends Error {
  readonly reason: IntegrityFailure;
  constructor(reason: IntegrityFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IntegrityError';
    this.reason = reason;
  }
}

/** A ranged read asked for bytes past the end of the object. */
export class InvalidRangeError extends Error {
  readonly key: string;
  constructor(key: string, offset: number, length: number, size?: number) {
    super(`range ${offset}+${length} outside ${key}${size === undefined ? '' : ` (size ${size})`}`);
    this.name = 'InvalidRangeError';
    this.key = key;
  }
}
