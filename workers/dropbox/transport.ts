// Where Dropbox traffic goes. The SDK always builds https://{api,content,notify}.dropboxapi.com
// and https://www.dropbox.com URLs; with COFFER_DROPBOX_API_URL set, this fetch sends them to that
// origin instead (path and query kept), which is how Coffer talks to the emulator. Nothing else in
// Coffer knows the difference.
const DROPBOX_HOSTS = /^https:\/\/(api|content|notify)\.dropboxapi\.com|^https:\/\/(www\.)?dropbox\.com/;

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The URL a fetch was called with, whichever form it came in. */
export function requestUrl(input: string | URL | Request): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

export function dropboxFetch(apiUrl: string | undefined, inner: Fetch = fetch): Fetch {
  if (!apiUrl) return inner;
  const origin = apiUrl.replace(/\/+$/, '');
  return (input, init) => {
    return inner(requestUrl(input).replace(DROPBOX_HOSTS, origin), init);
  };
}

export function authorizeBase(apiUrl: string | undefined): string {
  return apiUrl ? apiUrl.replace(/\/+$/, '') : 'https://www.dropbox.com';
}

export function tokenUrl(apiUrl: string | undefined): string {
  return (apiUrl ? apiUrl.replace(/\/+$/, '') : 'https://api.dropboxapi.com') + '/oauth2/token';
}
