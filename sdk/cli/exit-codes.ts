// The CLI's exit codes, so scripts can tell failures apart without parsing messages.
import { AuthenticationError, ConflictError, JobFailedError, NotFoundError, PermissionError } from '../errors.ts';

export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, jobFailed: 6, interrupted: 130 } as const;

/** A mistake in the command line itself. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Not logged in, or the profile asked for does not exist. */
export class NotLoggedInError extends Error {
  override name = 'NotLoggedInError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof AuthenticationError || err instanceof PermissionError || err instanceof NotLoggedInError) return EXIT.auth;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof JobFailedError) return EXIT.jobFailed;
  if ((err as Error)?.name === 'AbortError') return EXIT.interrupted;
  return EXIT.error;
}
