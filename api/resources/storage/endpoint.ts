// Endpoints of storage the workers will write to on a customer's behalf (the account's own bucket,
// export destinations). A URL that is or names a non-public address is refused (SSRF: a worker
// would PUT there from inside Coffer's network) unless COFFER_STORAGE_ALLOW_PRIVATE_ENDPOINTS.
import type { AppDeps } from '../../deps.ts';
import { invalidField } from '../../errors.ts';
import { checkTargetUrl, TargetRefused } from '../../../workers/outbound/target.ts';

/** The endpoint without a trailing slash, or a 400 naming `pointer`. */
export function checkedEndpoint(deps: Pick<AppDeps, 'config'>, endpoint: string, pointer: string): string {
  try {
    return checkTargetUrl(endpoint, deps.config.storageAllowPrivateEndpoints === true).href.replace(/\/+$/, '');
  } catch (err) {
    if (err instanceof TargetRefused) throw invalidField(pointer, `the endpoint ${err.message}`);
    throw err;
  }
}
