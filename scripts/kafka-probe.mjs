#!/usr/bin/env node
// Dependency-free Kafka readiness probe (runs before `npm ci`, so no kafkajs).
// Sends a Metadata v4 request (the oldest version Kafka 4.x still serves, and
// served by 3.x too) asking for no topics, and checks the broker lists itself
// and its peers.
//
// usage: node kafka-probe.mjs [--wait SECONDS] [--brokers N] [--quiet] HOST:PORT...
//   --wait SECONDS  keep retrying until every address answers or time runs out
//                   (default 0: a single attempt)
//   --brokers N     also require that each answer lists at least N brokers
//   exit 0 when every address answered; 1 otherwise (last error on stderr)
import net from 'node:net';

const args = process.argv.slice(2);
let waitSeconds = 0;
let minBrokers = 1;
let quiet = false;
const addresses = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--wait') waitSeconds = Number(args[++i]);
  else if (a === '--brokers') minBrokers = Number(args[++i]);
  else if (a === '--quiet') quiet = true;
  else addresses.push(a);
}
if (addresses.length === 0 || !Number.isFinite(waitSeconds) || !Number.isFinite(minBrokers)) {
  console.error('usage: kafka-probe.mjs [--wait SECONDS] [--brokers N] [--quiet] HOST:PORT...');
  process.exit(2);
}

const METADATA = 3;
const CLIENT_ID = Buffer.from('keyed-probe');

function metadataRequest(correlationId) {
  // Request header v1: api_key, api_version, correlation_id, client_id.
  // Body v4: topics (array, 0 entries), allow_auto_topic_creation (false).
  const body = Buffer.alloc(2 + 2 + 4 + 2 + CLIENT_ID.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(METADATA, o);
  o = body.writeInt16BE(4, o);
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(CLIENT_ID.length, o);
  o += CLIENT_ID.copy(body, o);
  o = body.writeInt32BE(0, o);
  body.writeInt8(0, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parseMetadata(buf, correlationId) {
  let o = 0;
  const int16 = () => { const v = buf.readInt16BE(o); o += 2; return v; };
  const int32 = () => { const v = buf.readInt32BE(o); o += 4; return v; };
  const str = () => {
    const n = int16();
    if (n < 0) return null;
    const s = buf.toString('utf8', o, o + n);
    o += n;
    return s;
  };
  if (int32() !== correlationId) throw new Error('correlation id mismatch');
  int32(); // throttle_time_ms
  const brokers = [];
  for (let n = int32(); n > 0; n--) {
    const nodeId = int32();
    const host = str();
    const port = int32();
    str(); // rack
    brokers.push(`${nodeId}@${host}:${port}`);
  }
  const clusterId = str();
  const controllerId = int32();
  return { brokers, clusterId, controllerId };
}

function probeOnce(address, timeoutMs) {
  const idx = address.lastIndexOf(':');
  const host = address.slice(0, idx);
  const port = Number(address.slice(idx + 1));
  const correlationId = (Math.random() * 0x7fffffff) | 0;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let data = Buffer.alloc(0);
    const done = (err, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(metadataRequest(correlationId)));
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error('connection closed before a full answer')));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4) return;
      const size = data.readInt32BE(0);
      if (data.length < 4 + size) return;
      try {
        done(null, parseMetadata(data.subarray(4, 4 + size), correlationId));
      } catch (err) {
        done(err);
      }
    });
  });
}

const deadline = Date.now() + waitSeconds * 1000;
const pending = new Set(addresses);
let lastError = new Error('not tried');
for (;;) {
  for (const address of [...pending]) {
    try {
      const md = await probeOnce(address, 2000);
      if (md.brokers.length < minBrokers) {
        throw new Error(`lists ${md.brokers.length} broker(s), want ${minBrokers}: ${md.brokers.join(' ')}`);
      }
      pending.delete(address);
      if (!quiet) {
        console.log(`${address} ok: cluster ${md.clusterId}, brokers ${md.brokers.join(' ')}`);
      }
    } catch (err) {
      lastError = new Error(`${address}: ${err.message}`);
    }
  }
  if (pending.size === 0) process.exit(0);
  if (Date.now() >= deadline) break;
  await new Promise((r) => setTimeout(r, 250));
}
console.error(`kafka-probe: ${lastError.message}`);
process.exit(1);
