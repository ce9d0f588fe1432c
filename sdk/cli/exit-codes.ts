// The CLI's exit codes, so scripts can tell failures apart without parsing messages.
import { AuthenticationError, ConflictError, JobFailedError, NotFoundError, PermissionError } from '../errors.ts';

export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, jobFailed: 6, interrupted: 130 } as const;

/** For `coffer --help`. */
export const EXIT_HELP = `exit codes:
  0    success
  1    error (the API refused the request, the network failed, a download did not verify)
  2    usage: a mistake in the command line
  3    authentication: not logged in, a bad or revoked API key, or a missing permission (401, 403)
  4    not found (404)
  5    conflict or precondition failed (409, 412: a stale --if-match; an action refused in this state)
  6    the job or backup run failed
  130  interrupted (Ctrl-C)`;

/** A mistake in the command line itself. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Not logged in, or the profile asked for does not exist. */
export class NotLoggedInError extends Error {
  override name = 'NotLoggedInError';
}

/** The API accepted the request but refused the action in the resource's state (exit 5). */
export class PreconditionError extends Error {
  override name = 'PreconditionError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof AuthenticationError || err instanceof PermissionError || err instanceof NotLoggedInError) return EXIT.auth;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError || err instanceof PreconditionError) return EXIT.conflict;
  if (err instanceof JobFailedError) return EXIT.jobFailed;
  if ((err as Error)?.name === 'AbortError') return EXIT.interrupted;
  return EXIT.error;
}
