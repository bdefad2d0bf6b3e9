// Prints the Date and Authorization headers that sign a License API v4 request, and a ready curl command.
//   npm run sign -- --api-key <license api key> --shared-key <shared key> [--url http://localhost:3000]
//                   [--path 'check_license?product=<short code>&license_key=K&hardware_id=H'] [--data '<json body>']
//                   [--idempotency-key <key>] [--include]
// The keys may also come from LICENSE_API_KEY and LICENSE_SHARED_KEY. A POST is printed when --data is given.
// The curl command is quiet (`curl -sS`, its output pipes into jq); --include adds the response headers (`-i`).
import { parseArgs } from 'node:util';
import { signLicenseApiRequest } from '../client/license-api-signature.js';

const { values } = parseArgs({
  options: {
    'api-key': { type: 'string' },
    'shared-key': { type: 'string' },
    url: { type: 'string', default: 'http://localhost:3000' },
    path: { type: 'string', default: 'check_license?product=PRODUCT-SHORT-CODE&license_key=LICENSE-KEY&hardware_id=my-device' },
    data: { type: 'string' },
    'idempotency-key': { type: 'string' },
    include: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const apiKey = values['api-key'] ?? process.env.LICENSE_API_KEY;
const sharedKey = values['shared-key'] ?? process.env.LICENSE_SHARED_KEY;
if (values.help || !apiKey || !sharedKey) {
  console.error('usage: npm run sign -- --api-key <license api key> --shared-key <shared key> [--url <base url>] [--path <api/v4 path and query>] [--data <json body>] [--idempotency-key <key>] [--include]');
  process.exit(values.help ? 0 : 2);
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const { Date: date, Authorization: authorization } = signLicenseApiRequest({ apiKey, sharedKey });
const url = `${values.url.replace(/\/+$/, '')}/api/v4/${values.path.replace(/^\/+/, '').replace(/^api\/v4\//, '')}`;

console.log(`Date: ${date}`);
console.log(`Authorization: ${authorization}`);
console.log('');
console.log('# valid for 15 minutes:');
const parts = [values.include ? 'curl -sS -i' : 'curl -sS', quote(url), '-H', quote(`Date: ${date}`), '-H', quote(`Authorization: ${authorization}`)];
if (values['idempotency-key'] !== undefined) parts.push('-H', quote(`Idempotency-Key: ${values['idempotency-key']}`));
if (values.data !== undefined) {
  JSON.parse(values.data);
  parts.push('-H', quote('Content-Type: application/json'), '--data', quote(values.data));
}
console.log(parts.join(' '));
