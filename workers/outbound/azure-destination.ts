// Where an Azure export goes, worked out by Coffer rather than by the SDK. The SDK's connection
// string parser is lenient in ways that let a customer aim the export worker anywhere: an account
// name becomes part of a host name (`127.0.0.1:19999/an?` → http://127.0.0.1:19999/…), the last of
// two `BlobEndpoint=` keys differing in case wins over the one that was checked, and
// `UseDevelopmentStorage=true` means 127.0.0.1. So the connection string is parsed strictly here
// (known keys only, each once in any case, no development storage, no proxy), the blob service URL
// is built from it, that URL is what gets checked, and the worker connects to exactly that URL with
// the credentials taken from the same parse.

export interface AzureTarget {
  /** The blob service URL (no trailing slash, no query). */
  url: string;
  accountName?: string;
  accountKey?: string;
  /** A shared access signature (query string without `?`). */
  sas?: string;
}

export class AzureDestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AzureDestinationError';
  }
}

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const ACCOUNT_KEY = /^[A-Za-z0-9+/]+={0,2}$/;
const HOST_SUFFIX = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const SAS = /^[A-Za-z0-9%&=._~+/-]+$/;
/** Keys of an Azure Storage connection string Coffer understands (lower case). Others are refused. */
const KNOWN = new Set(['defaultendpointsprotocol', 'accountname', 'accountkey', 'blobendpoint', 'endpointsuffix', 'sharedaccesssignature', 'queueendpoint', 'fileendpoint', 'tableendpoint']);

function checkedAccountName(name: string): string {
  if (!ACCOUNT_NAME.test(name)) throw new AzureDestinationError('the account name must be 3 to 24 lower-case letters and digits');
  return name;
}

function checkedAccountKey(key: string): string {
  if (!ACCOUNT_KEY.test(key)) throw new AzureDestinationError('the account key must be the base64 key Azure shows');
  return key;
}

/** An http(s) URL without credentials, query or fragment, as text without a trailing slash. */
function checkedServiceUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AzureDestinationError('BlobEndpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AzureDestinationError('BlobEndpoint must use http or https');
  if (url.username || url.password || url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    throw new AzureDestinationError('BlobEndpoint must not carry credentials, a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}

/** Parses a connection string strictly; throws AzureDestinationError saying what is wrong. */
export function parseConnectionString(connectionString: string): AzureTarget {
  const values = new Map<string, string>();
  for (const raw of connectionString.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new AzureDestinationError(`"${part.slice(0, 40)}" is not a Key=Value pair`);
    const key = part.slice(0, eq).trim();
    const lower = key.toLowerCase();
    if (lower === 'usedevelopmentstorage' || lower === 'developmentstorageproxyuri') throw new AzureDestinationError(`${key} is not accepted: exports go to a real storage account`);
    if (!KNOWN.has(lower)) throw new AzureDestinationError(`unknown key ${key.slice(0, 40)}`);
    if (values.has(lower)) throw new AzureDestinationError(`${key} is given more than once`);
    values.set(lower, part.slice(eq + 1).trim());
  }
  const protocol = (values.get('defaultendpointsprotocol') ?? 'https').toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') throw new AzureDestinationError('DefaultEndpointsProtocol must be http or https');
  const name = values.get('accountname');
  const key = values.get('accountkey');
  const sas = values.get('sharedaccesssignature')?.replace(/^\?/, '');
  const blobEndpoint = values.get('blobendpoint');
  const suffix = values.get('endpointsuffix') ?? 'core.windows.net';
  if (!HOST_SUFFIX.test(suffix)) throw new AzureDestinationError('EndpointSuffix must be a host name such as core.windows.net');
  if (sas !== undefined && !SAS.test(sas)) throw new AzureDestinationError('SharedAccessSignature is not a query string');
  if (name !== undefined) checkedAccountName(name);
  if (key !== undefined) checkedAccountKey(key);
  if (key !== undefined && name === undefined) throw new AzureDestinationError('AccountKey needs AccountName');
  if (!(name && key) && !sas) throw new AzureDestinationError('give AccountName and AccountKey, or a SharedAccessSignature');
  if (!blobEndpoint && !name) throw new AzureDestinationError('give AccountName or BlobEndpoint');
  const url = blobEndpoint ? checkedServiceUrl(blobEndpoint) : `${protocol}://${name}.blob.${suffix.toLowerCase()}`;
  return {
    url,
    ...(name && key ? { accountName: name, accountKey: key } : {}),
    ...(sas ? { sas } : {}),
  };
}

/** The target of an `account_name` + `account_key` destination (optionally at `endpoint`). */
export function accountTarget(accountName: string, accountKey: string, endpoint?: string): AzureTarget {
  const name = checkedAccountName(accountName);
  return { url: endpoint ? checkedServiceUrl(endpoint) : `https://${name}.blob.core.windows.net`, accountName: name, accountKey: checkedAccountKey(accountKey) };
}

/** The target of an `account_name` + shared access signature (optionally at `endpoint`). */
export function sasTarget(accountName: string, sas: string, endpoint?: string): AzureTarget {
  const name = checkedAccountName(accountName);
  const query = sas.replace(/^\?/, '');
  if (!SAS.test(query)) throw new AzureDestinationError('the shared access signature is not a query string');
  return { url: endpoint ? checkedServiceUrl(endpoint) : `https://${name}.blob.core.windows.net`, accountName: name, sas: query };
}

/** The target of a stored destination (`connection_string`, or `account_name` + `account_key`). */
export function azureTarget(secret: { connection_string?: string; account_name?: string; account_key?: string }, endpoint?: string): AzureTarget {
  if (secret.connection_string) return parseConnectionString(secret.connection_string);
  return accountTarget(secret.account_name ?? '', secret.account_key ?? '', endpoint);
}
