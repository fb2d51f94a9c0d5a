/** What `--kubectl` takes, the selector it derives, and the kubelet timestamps positions are made of. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonObjects, chooseContainers } from '../../../src/input/kube/pod-watch.js';
import { lineTimeInto, normalTime, TIME_BYTES } from '../../../src/input/kube/positions.js';
import { prng } from '../../../src/sample/generate.js';
import { parseTarget, selectorText } from '../../../src/input/kube/target.js';

describe('--kubectl target', () => {
  it('reads workloads, pods, selectors and the flags passed to every kubectl run', () => {
    const t = parseTarget('deploy/seldon-deploy -n "seldon system" --context=prod -c main');
    assert.deepEqual(
      { kind: t.kind, name: t.name, ns: t.namespace, c: t.container, global: t.globalArgs },
      {
        kind: 'deployment',
        name: 'seldon-deploy',
        ns: 'seldon system',
        c: 'main',
        global: ['--namespace=seldon system', '--context=prod'],
      },
    );
    assert.equal(parseTarget('sts/db').kind, 'statefulset');
    assert.equal(parseTarget('ds/agent --all-containers').allContainers, true);
    assert.deepEqual([parseTarget('my-pod').kind, parseTarget('my-pod').name], ['pod', 'my-pod']);
    assert.equal(parseTarget("-l 'app=x,tier in (a,b)'").selector, 'app=x,tier in (a,b)');
  });

  it('refuses what it cannot follow, each with a reason', () => {
    const cases: [string, RegExp][] = [
      ['', /give a workload or -l SELECTOR/],
      ['deploy/a -l app=x', /give a workload or -l SELECTOR \(one of them\)/],
      ['deploy/a deploy/b', /one workload at a time/],
      ['cronjob/x', /cannot follow "cronjob\/x"/],
      ['deploy/', /cannot follow "deploy\/"/],
      ['deploy/a --since=1h', /--since=1h is not taken/],
      ['deploy/a -n', /-n needs a value/],
      ['deploy/a -c x --all-containers', /exclude each other/],
      ['deploy/a -n "open', /unclosed "/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseTarget(text), message, text);
  });

  it("turns a workload's selector into kubectl's -l text", () => {
    assert.equal(
      selectorText({
        matchLabels: { app: 'seldon-deploy' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'old', operator: 'NotIn', values: ['x'] },
          { key: 'has', operator: 'Exists' },
          { key: 'not', operator: 'DoesNotExist' },
        ],
      }),
      'app=seldon-deploy,tier in (a,b),old notin (x),has,!not',
    );
  });

  it('picks the containers kubectl logs would', () => {
    const pod = {
      metadata: { annotations: { 'kubectl.kubernetes.io/default-container': 'app' } },
      spec: { initContainers: [{ name: 'init' }], containers: [{ name: 'proxy' }, { name: 'app' }] },
    };
    assert.deepEqual(chooseContainers(pod, null, false), ['app']);
    assert.deepEqual(chooseContainers({ spec: pod.spec }, null, false), ['proxy']);
    assert.deepEqual(chooseContainers(pod, 'proxy', false), ['proxy']);
    assert.deepEqual(chooseContainers(pod, 'nope', false), []);
    assert.deepEqual(chooseContainers(pod, 'init', false), ['init'], 'kubectl logs -c takes an init container');
    assert.deepEqual(chooseContainers(pod, null, true), ['init', 'proxy', 'app']);
  });
});

/** The normalised kubelet time a line starts with, or null. */
function lineTime(line: Buffer): string | null {
  const out = Buffer.alloc(TIME_BYTES);
  return lineTimeInto(line, 0, line.length, out) ? out.toString('latin1') : null;
}

describe('kubelet timestamps', () => {
  it('normalise to one width that sorts as text, whatever the digits and the zone', () => {
    assert.equal(normalTime('2026-12-01T04:02:24.22400069Z'), '2026-12-01T04:02:24.224000690Z');
    assert.equal(normalTime('2026-12-01T04:02:24Z'), '2026-12-01T04:02:24.000000000Z');
    assert.equal(normalTime('2026-12-01T05:02:24.5+01:00'), '2026-12-01T04:02:24.500000000Z');
    assert.equal(normalTime('2026-12-01 04:02:24Z'), null);
    assert.ok(normalTime('2026-12-01T04:02:24.09Z')! < normalTime('2026-12-01T04:02:24.1Z')!);
    assert.equal(lineTime(Buffer.from('2026-12-01T04:02:24.1Z {"a":1}')), '2026-12-01T04:02:24.100000000Z');
    assert.equal(lineTime(Buffer.from('{"Timestamp":"2026-12-01T04:02:24Z"}')), null);
  });

  it('are read from bytes exactly as the regular expression reads them, over seeded mutations of every form', () => {
    // The reading the byte reader replaced: the first space, then normalTime() of what is before it.
    const model = (line: Buffer): string | null => {
      const space = line.indexOf(0x20);
      return space < 20 || space > 40 ? null : normalTime(line.toString('latin1', 0, space));
    };
    const random = prng(19);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
    const two = (n: number) => String(Math.floor(random() * n)).padStart(2, '0');
    const stamp = () =>
      `${pick(['19', '20', '99'])}${digits(2)}-${two(12)}-${two(28)}T${two(24)}:${two(60)}:${two(60)}` +
      pick(['', `.${digits(1 + Math.floor(random() * 9))}`, `.${digits(1 + Math.floor(random() * 9))}`, `.${digits(10)}`, '.']) +
      pick(['Z', 'Z', 'Z', 'Z', '+01:00', '-05:30', 'z', '']);
    const noise = [0x20, 0x2e, 0x2d, 0x3a, 0x54, 0x5a, 0x30, 0x39, 0x2f, 0x3b, 0x00, 0xff, 0x0a];
    const out = Buffer.alloc(TIME_BYTES);
    let timed = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(
        `${pick(['', '', '', '', '', ' '])}${stamp()}${pick([' ', ' ', ' ', '', '  '])}{"RequestID":"x"}`,
        'latin1',
      );
      // Mutations: a byte replaced, a byte dropped, a byte doubled.
      for (let m = random() < 0.5 ? 0 : 1 + Math.floor(random() * 2); m > 0; m--) {
        const at = Math.floor(random() * 32);
        const kind = Math.floor(random() * 3);
        const b = kind === 0 ? pick(noise) : bytes[at]!;
        bytes.set(
          kind === 1
            ? bytes.subarray(at + 1)
            : Buffer.concat([Buffer.from([b]), bytes.subarray(at + (kind === 0 ? 1 : 0))]).subarray(0, bytes.length - at),
          at,
        );
      }
      // In place in a larger buffer, as a stream reads it, and alone.
      const framed = Buffer.concat([Buffer.from('x\n'), bytes, Buffer.from('\n')]);
      const expected = model(bytes);
      const found = lineTimeInto(framed, 2, framed.length - 1, out) ? out.toString('latin1') : null;
      assert.equal(found, expected, JSON.stringify(bytes.toString('latin1')));
      assert.equal(lineTime(bytes), expected);
      if (expected !== null) timed++;
    }
    // Both outcomes are well represented, or the comparison proves little.
    assert.ok(timed > 3_000 && timed < 17_000, `${timed} of 20000 had a time`);
  });
});

describe("kubectl's watch output", () => {
  it('splits concatenated JSON objects, pretty or not, across any chunking', () => {
    const objects = [
      { type: 'ADDED', object: { s: 'a "quoted" } brace', n: [1, { x: 2 }] } },
      { type: 'DELETED', object: {} },
    ];
    const text = `${JSON.stringify(objects[0], null, 2)}\n${JSON.stringify(objects[1])}\n`;
    for (const size of [1, 7, 64, text.length]) {
      const split = new JsonObjects();
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) split.push(text.slice(i, i + size), out);
      assert.deepEqual(
        out.map((o) => JSON.parse(o) as unknown),
        objects,
        `in pieces of ${size}`,
      );
    }
  });
});
