/** What `--kubectl` takes, the selector it derives, and the kubelet timestamps positions are made of. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonObjects, chooseContainers } from '../../../src/input/kube/pod-watch.js';
import { lineTime, normalTime } from '../../../src/input/kube/positions.js';
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
    assert.deepEqual(chooseContainers(pod, null, true), ['init', 'proxy', 'app']);
  });
});

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
