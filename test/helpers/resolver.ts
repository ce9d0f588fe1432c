// A name resolver for tests: names the test chooses resolve to the addresses it says (standing in
// for DNS records such as `127.0.0.1.nip.io`); any other name is ENOTFOUND.
import type { Resolver } from '../../workers/outbound/target.ts';

export function fakeResolver(records: Record<string, string>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = ((hostname, _options, callback) => {
    asked.push(hostname);
    const address = records[hostname.toLowerCase()];
    setImmediate(() => {
      if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
    });
  }) as Resolver & { asked: string[] };
  resolve.asked = asked;
  return resolve;
}
