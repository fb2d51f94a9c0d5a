/**
 * Deterministic, realistic audit records: what the platform writes, byte for byte in shape.
 * Go-style details matter here: RFC 3339 times with trailing zeros trimmed (0 to 9 fractional
 * digits), `Groups: null` for a nil slice, and ResponseSize equal to the body's UTF-8 length.
 */

/** mulberry32: tiny, fast and good enough for test data; the same seed always gives the same corpus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'];
const STATUSES = [200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 403, 404, 500, 503];
const USERS = [
  { Id: 'seldon', Name: 'Hari Seldon', Email: 'admin@seldon.io', Groups: ['data-scientist'] },
  { Id: 'dornick', Name: 'Gaal Dornick', Email: 'gaal@seldon.io', Groups: ['data-scientist', 'ml-ops'] },
  { Id: 'mallow', Name: 'Hober Mallow', Email: 'hober@seldon.io', Groups: null },
  { Id: 'svc-ci', Name: 'CI bot', Email: '', Groups: ['automation'] },
  { Id: 'arkady', Name: 'Arkady Darell', Email: 'arkady@seldon.io', Groups: [] },
];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.212 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1 Safari/605.1.15',
  'python-requests/2.26.0',
  'seldon-deploy-sdk/1.4.0',
  '',
];
const DEPLOYMENTS = ['iris', 'income', 'cifar10', 'moviesentiment', 'fraud-detector'];
const NAMESPACES = ['seldon', 'staging', 'prod'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function hex(rand: () => number, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += '0123456789abcdef'[Math.floor(rand() * 16)];
  return s;
}

function uuidV4(rand: () => number): string {
  const variant = '89ab'[Math.floor(rand() * 4)];
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-${variant}${hex(rand, 3)}-${hex(rand, 12)}`;
}

function sourceAddress(rand: () => number): string {
  if (rand() < 0.1) return `2001:db8:${hex(rand, 4)}::${hex(rand, 3)}`;
  return `${10 + Math.floor(rand() * 200)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`;
}

/** Go's RFC3339Nano: fractional digits with trailing zeros trimmed, none at all for whole seconds. */
export function goTimestamp(epochSeconds: number, nanos: number): string {
  const base = new Date(epochSeconds * 1000).toISOString().slice(0, 19);
  const fraction = nanos === 0 ? '' : `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${fraction}Z`;
}

/**
 * A Prometheus-style response like the seed's example; `points` sets its size (~26 bytes each).
 * Written as JSON.stringify writes that object, straight into its text: the values are integers and
 * strings with nothing to escape, and building the object to stringify it cost `sample` a third of
 * its time, and as much again in garbage.
 */
function monitorBody(rand: () => number, name: string, start: number, points: number): string {
  const values: string[] = [];
  for (let i = 0; i < points; i++) values.push(`[${start + i * 30},"${rand() < 0.5 ? 'NaN' : (rand() * 10).toFixed(3)}"]`);
  const metric = JSON.stringify({ deployment_name: name, model_name: `${name}-container`, predictor_name: 'default' });
  return `{"data":{"result":[{"metric":${metric},"values":[${values.join(',')}]}],"resultType":"matrix"},"status":"success"}`;
}

export interface SampleOptions {
  seed: number;
  /** Epoch seconds of the first record; records advance by about 100 ms each. */
  start: number;
}

export function* sampleRecords(count: number, options: SampleOptions): Generator<Record<string, unknown>> {
  const rand = prng(options.seed);
  let seconds = options.start;
  for (let i = 0; i < count; i++) {
    const roll = rand();
    seconds += roll < 0.9 ? 0 : 1;
    const nanos = roll < 0.05 ? 0 : roll < 0.1 ? Math.floor(rand() * 1000) * 1_000_000 : Math.floor(rand() * 1e9);
    const name = pick(rand, DEPLOYMENTS);
    const ns = pick(rand, NAMESPACES);
    const method = pick(rand, METHODS);
    const body = method === 'GET' ? monitorBody(rand, name, seconds, 12 + Math.floor(rand() * 56)) : '';
    yield {
      Host: 'seldon.example.com',
      Method: method,
      Referer:
        rand() < 0.3 ? '' : `https://seldon.example.com/seldon-deploy/deployments/dashboard?ns=${ns}&name=${name}&kind=SeldonDeployment`,
      RequestID: uuidV4(rand),
      ResponseBody: body,
      ResponseSize: Buffer.byteLength(body, 'utf8'),
      ResponseStatus: pick(rand, STATUSES),
      SourceAddress: sourceAddress(rand),
      Timestamp: goTimestamp(seconds, nanos),
      URI: `/seldon-deploy/api/v1alpha1/namespaces/${ns}/seldondeployments/${name}${method === 'GET' ? '/monitor' : ''}`,
      UserAgent: pick(rand, AGENTS),
      UserInfo: pick(rand, USERS),
    };
  }
}

/** The same records as JSON lines, as the platform prints them. */
export function* sampleLines(count: number, options: SampleOptions): Generator<string> {
  for (const record of sampleRecords(count, options)) yield `${JSON.stringify(record)}\n`;
}

export const DEFAULT_SAMPLE_SEED = 42;
/** 2021-09-22T12:00:00Z, the day of the platform's own example record. */
export const DEFAULT_SAMPLE_START = 1632312000;
