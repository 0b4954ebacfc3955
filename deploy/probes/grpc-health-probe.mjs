// Exec probe: calls grpc.health.v1.Health/Check on the coordinator's gRPC port over TLS and exits
// 0 only for SERVING. Kubernetes' built-in `grpc:` probe cannot speak TLS, hence this script.
// Usage: node grpc-health-probe.mjs --addr 127.0.0.1:9443 --ca /etc/medfed/tls/ca.crt
//          [--server-name medfed-coordinator] [--service NAME] [--cert FILE --key FILE]
//          [--timeout-ms 3000] [--plaintext]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';

const SERVING = 1;
const { values } = parseArgs({
  options: {
    addr: { type: 'string', default: '127.0.0.1:9443' },
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'server-name': { type: 'string', default: 'medfed-coordinator' },
    service: { type: 'string', default: '' },
    'timeout-ms': { type: 'string', default: '3000' },
    plaintext: { type: 'boolean', default: false },
  },
});

function fail(message) {
  process.stderr.write(`grpc health: ${message}\n`);
  process.exit(1);
}

let credentials;
if (values.plaintext) {
  credentials = grpc.credentials.createInsecure();
} else {
  if (!values.ca) fail('--ca is required unless --plaintext');
  credentials = grpc.credentials.createSsl(
    readFileSync(values.ca),
    values.key ? readFileSync(values.key) : null,
    values.cert ? readFileSync(values.cert) : null,
  );
}

// HealthCheckRequest { string service = 1; } and HealthCheckResponse { ServingStatus status = 1; },
// encoded by hand so the probe needs no .proto files.
const service = Buffer.from(values.service, 'utf8');
const request = service.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, service.length]), service]);
const decodeStatus = (bytes) => (bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1] : 0);

const client = new grpc.Client(values.addr, credentials, {
  'grpc.ssl_target_name_override': values['server-name'],
  'grpc.default_authority': values['server-name'],
});
const deadline = new Date(Date.now() + Number(values['timeout-ms']));
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  (value) => value,
  (bytes) => decodeStatus(bytes),
  request,
  new grpc.Metadata(),
  { deadline },
  (error, status) => {
    client.close();
    if (error) fail(`${error.code} ${error.details}`);
    if (status !== SERVING) fail(`status ${status}, want SERVING (1)`);
    process.exit(0);
  },
);
