// Errors raised by the framework and by Node's HTTP parser, before any Coffer code runs, are RFC
// 9457 problem documents like every other error.
import t from 'tap';
import { connect } from 'node:net';
import { startTestApp } from '../helpers/app.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';

/** Sends raw bytes and returns the whole response text (the server closes the connection). */
async function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { out += chunk; });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

function parseRaw(text: string) {
  const [head, body] = text.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head!.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body!) };
}

t.test('a path segment longer than the router accepts is a 414 problem', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const res = await api.request('GET', `/v1/tags/tag_${'x'.repeat(500)}`, { key });
  t.equal(res.status, 414);
  t.equal(res.headers.get('content-type'), PROBLEM);
  t.match(res.body, { type: 'urn:coffer:problem:uri_too_long', title: 'URI Too Long', status: 414, code: 'uri_too_long' });
  t.equal(res.body.request_id, res.headers.get('x-request-id'));
});

t.test('malformed percent-encoding in the path is a 400 problem', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const res = await api.request('GET', '/v1/tags/%E0%A4%A', { key });
  t.equal(res.status, 400);
  t.equal(res.headers.get('content-type'), PROBLEM);
  t.match(res.body, { status: 400, code: 'bad_url' });
  t.ok(res.body.request_id);
});

t.test('an Accept header that rules out every answer is a 406 problem', async (t) => {
  const api = await startTestApp(t);
  const { key } = await api.signUp();
  const xml = await api.request('GET', '/v1/tags', { key, headers: { accept: 'application/xml' } });
  t.equal(xml.status, 406);
  t.equal(xml.headers.get('content-type'), PROBLEM);
  t.match(xml.body, { code: 'not_acceptable', status: 406, available: ['application/json'] });

  const csvOnJson = await api.request('GET', '/v1/tags', { key, headers: { accept: 'text/csv' } });
  t.equal(csvOnJson.status, 406, 'CSV is offered only where a route says so');

  for (const accept of ['application/json', '*/*', 'application/*', 'text/html, application/json;q=0.5', 'application/json; charset=utf-8']) {
    const ok = await api.request('GET', '/v1/tags', { key, headers: { accept } });
    t.equal(ok.status, 200, `Accept: ${accept}`);
  }
  const csv = await api.request('GET', '/v1/activity', { key, headers: { accept: 'text/csv' } });
  t.equal(csv.status, 200, 'a route that offers CSV serves it');
  t.match(csv.headers.get('content-type'), /^text\/csv/);
  const zeroQ = await api.request('GET', '/v1/tags', { key, headers: { accept: 'application/json;q=0' } });
  t.equal(zeroQ.status, 406, 'q=0 refuses the type');
});

t.test('headers larger than Node accepts get a 431 problem on the socket', async (t) => {
  const api = await startTestApp(t);
  const text = await rawRequest(api.url, `GET /v1/tags HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  const res = parseRaw(text);
  t.equal(res.status, 431);
  t.equal(res.headers['content-type'], PROBLEM);
  t.match(res.body, { status: 431, code: 'headers_too_large', title: 'Request Header Fields Too Large' });
  t.equal(res.body.request_id, res.headers['x-request-id']);
});

t.test('a request that is not HTTP gets a 400 problem on the socket', async (t) => {
  const api = await startTestApp(t);
  const res = parseRaw(await rawRequest(api.url, 'NOT HTTP AT ALL\r\n\r\n'));
  t.equal(res.status, 400);
  t.equal(res.headers['content-type'], PROBLEM);
  t.match(res.body, { status: 400, code: 'bad_request' });
});
