/**
 * The alert rules and the dashboard: promtool checks and unit-tests the rules (every alert firing,
 * and quiet where it must be), the PrometheusRule holds the very same groups, and every metric the
 * rules and the dashboard query is one a running shipper exposes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { tempDir } from '../helpers/cli.js';
import { FakeKubeApi } from '../helpers/kube-api.js';
import { kubectlMissing } from '../helpers/kube-feed.js';
import { lines } from '../helpers/ledger.js';
import { fixture, ROOT } from '../helpers/paths.js';
import { receivers } from '../helpers/receive-cli.js';
import { scrapeUntil, startMeteredShip } from '../helpers/ship-cli.js';

const RULES = join(ROOT, 'deploy', 'prometheus', 'audit-ship.rules.yml');
const receiver = receivers();

function promtool(args: string[]): { missing: boolean; status: number | null; output: string } {
  const run = spawnSync('promtool', args, { encoding: 'utf8', cwd: join(ROOT, 'deploy', 'prometheus') });
  return { missing: run.error !== undefined, status: run.status, output: `${run.stdout}${run.stderr}` };
}

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[];
}

const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile;

/** The audit-ship metrics a PromQL expression names (`up` and other Prometheus series are not ours). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(audit_ship_[a-z0-9_]+|deploy_audit_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

describe('alerts', () => {
  it('pass promtool check rules and promtool test rules', (t) => {
    const check = promtool(['check', 'rules', 'audit-ship.rules.yml']);
    if (check.missing) return t.skip('promtool is not installed (Debian: prometheus); .ci/run installs it');
    assert.equal(check.status, 0, check.output);
    const test = promtool(['test', 'rules', 'audit-ship.rules.test.yml']);
    assert.equal(test.status, 0, test.output);
  });

  it('test every alert, firing and quiet', () => {
    const tests = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'audit-ship.rules.test.yml'), 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const fired = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    assert.deepEqual([...fired].sort(), [...alerts].sort(), 'each alert is shown firing');
    assert.deepEqual([...quiet].sort(), [...alerts].sort(), 'and each is shown quiet where it must be');
  });

  it('are the same groups in the PrometheusRule as in the plain rules file', () => {
    const resource = parse(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'base', 'prometheusrule.yaml'), 'utf8')) as { spec: RuleFile };
    assert.deepEqual(resource.spec, rules);
  });

  it('each have a summary, a description and a runbook section in docs/alerts.md', () => {
    const runbook = readFileSync(join(ROOT, 'docs', 'alerts.md'), 'utf8');
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      assert.ok(rule.annotations.summary && rule.annotations.description, rule.alert);
      assert.equal(rule.annotations.runbook_url, `docs/alerts.md#${rule.alert.toLowerCase()}`);
      assert.match(runbook, new RegExp(`^## ${rule.alert}$`, 'm'), `a runbook section for ${rule.alert}`);
    }
  });
});

describe('alerts and dashboard against a running shipper', { skip: kubectlMissing() ?? false }, () => {
  it('query only metrics that /metrics exposes', async (t) => {
    const api = await new FakeKubeApi().start();
    t.after(() => api.close());
    api.addPod('sd-a', { app: 'seldon-deploy' });
    for (const line of lines(20, 160)) api.write('sd-a', line.trimEnd());
    api.write('sd-a', '{"RequestID":"broken","Timestamp":"yesterday"}'); // so the invalid counter has a series
    // Over TLS, so that the certificate expiry has a series too.
    const r = await receiver(['--tls-cert', fixture('tls/server.pem'), '--tls-key', fixture('tls/server.key')]);
    const tls = ['--tls-ca', fixture('tls/ca.pem'), '--tls-servername', 'localhost'];
    const args = ['--kubectl', '-l app=seldon-deploy', '--port', String(r.port), '--flush-interval', '50ms', ...tls];
    const ship = await startMeteredShip(args, { ...api.kubectlEnv(), AUDIT_SHIP_SPOOL_DIR: join(tempDir(), 'spool') });
    await scrapeUntil(ship, (m) => m.get('audit_ship_records_acked_total') === 20, 'the records acked');
    const exposed = new Set([...(await ship.scrape()).keys()].map((k) => k.split('{')[0]!));
    await ship.exit('SIGTERM');
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'audit-ship.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { name: string; definition?: string }[] };
    };
    const queries = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => [`alert ${r.alert}`, r.expr] as const)),
      ...dashboard.panels.flatMap((p) => p.targets.map((q) => [`panel ${p.title}`, q.expr] as const)),
      ...dashboard.templating.list.filter((v) => v.definition).map((v) => [`variable ${v.name}`, v.definition!] as const),
    ];
    assert.ok(queries.length > 20);
    for (const [where, expr] of queries) {
      const names = metricsIn(expr);
      if (!expr.includes('up{')) assert.ok(names.length > 0, `${where} queries an audit-ship metric`);
      for (const name of names) assert.ok(exposed.has(name), `${where}: ${name} is exposed`);
    }
  });
});
