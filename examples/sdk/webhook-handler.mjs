// An HTTP endpoint for Coffer webhooks that accepts only genuine deliveries: the signature is
// checked over the raw body with the endpoint's secret (shown once when the endpoint is created:
// `coffer webhooks create --url https://you.example.com/coffer --events job.state_changed`).
//
//   COFFER_WEBHOOK_SECRET=whsec_… PORT=8787 node webhook-handler.mjs
import { createServer } from 'node:http';
import { verifyWebhookSignature } from '@coffer/sdk/webhooks';

const secret = process.env.COFFER_WEBHOOK_SECRET;
const seen = new Set(); // deliveries are retried: handle each event id once (keep this in a database)

const server = createServer(async (req, res) => {
  // Read the raw body: the signature covers these exact bytes, not re-serialised JSON.
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks).toString('utf8');

  const check = await verifyWebhookSignature(secret, req.headers['coffer-signature'], body);
  if (!check.valid) {
    console.log(`rejected: ${check.reason}`);
    return res.writeHead(400).end(check.reason);
  }
  const event = JSON.parse(body);
  res.writeHead(204).end(); // answer quickly (within 10 s); do slow work after
  if (seen.has(event.id)) return;
  seen.add(event.id);
  console.log(`verified ${event.type} ${event.id}`);
});
server.listen(Number(process.env.PORT ?? 8787), () => console.log(`listening on ${server.address().port}`));
