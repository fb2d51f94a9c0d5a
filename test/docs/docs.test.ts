/**
 * The reference in docs/ says what the code does: a test fails when an option, a metric, an exit
 * code, a diagnostic code or an error code is added, removed or changed without its row.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT_CODES } from '../../src/cli/exit.js';
import { commandOptions, GLOBAL_OPTIONS } from '../../src/cli/main.js';
import { Sender } from '../../src/forward/sender.js';
import { createShipMetrics } from '../../src/metrics/metrics.js';
import { senderOptions } from '../helpers/forward.js';
import { DIAGNOSTIC_CODES, DIAGNOSTIC_HELP, type DiagnosticCode } from '../../src/schema/diagnostic.js';
import { emptyCounts } from '../../src/ship/counts.js';
import { ROOT } from '../helpers/paths.js';
import { emptySpoolStats } from '../../src/spool/stats.js';

const doc = (name: string) => readFileSync(join(ROOT, name), 'utf8');

/** The rows of the first table after `heading` in `text`, as arrays of cells. */
function tableAfter(text: string, heading: string): string[][] {
  const start = heading === '' ? 0 : text.indexOf(`\n${heading}\n`);
  assert.notEqual(start, -1, `a "${heading}" section`);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/ (?<!\\)\| /)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** Every `--flag` named in the first cell of a table's rows. */
const flagsIn = (rows: string[][]) =>
  new Set(rows.flatMap(([first]) => [...(first ?? '').matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!)));
const sorted = (values: Iterable<string>) => [...values].sort();

/** Which page documents each command's options, and whether it has an options table of its own. */
const PAGES: Record<string, { page: string; table?: string }> = {
  ship: { page: 'docs/ship.md', table: '## Options' },
  receive: { page: 'docs/receive.md', table: '' },
  lint: { page: 'docs/lint.md', table: '' },
  spool: { page: 'docs/spool.md' },
  schema: { page: 'docs/lint.md' },
  sample: { page: 'docs/lint.md' },
};

describe('docs', () => {
  it('documents every option of every command, and no option that does not exist', () => {
    for (const { name, options } of commandOptions()) {
      const where = PAGES[name];
      assert.ok(where, `a page for ${name}`);
      const text = doc(where.page);
      if (where.table !== undefined) {
        const expected = name === 'ship' ? [...options, ...GLOBAL_OPTIONS] : options; // the ship page documents the global ones
        assert.deepEqual(
          sorted(flagsIn(tableAfter(text, where.table))),
          sorted(expected),
          `${name}: ${where.page}'s table against the code`,
        );
      } else {
        for (const option of options) assert.match(text, new RegExp(`\`${option}[ \`]`), `${name} ${option} in ${where.page}`);
      }
    }
  });

  it('lists every metric, with its type, and no other', () => {
    const { registry } = createShipMetrics({
      counts: emptyCounts(),
      spool: emptySpoolStats(),
      sender: new Sender(senderOptions(24224)),
      spoolMaxBytes: 1024,
      kube: { streams: () => [], restarts: () => 0, quietRestarts: () => 0, ended: 0, positionsWaitingForRoom: () => false },
      diskWaits: () => ({ spool: false }),
      tlsExpiries: () => ({ tls_ca: 0 }),
    });
    // prom-client's default process_* and nodejs_* metrics are documented as a family, in one sentence.
    const code = registry
      .getMetricsAsArray()
      .filter((m) => !/^(process|nodejs)_/.test(m.name))
      .map((m) => `${m.name} ${m.type}`);
    // A row may name several metrics of one type: `a`, `b`.
    const rows = tableAfter(doc('docs/metrics.md'), '').flatMap(([metrics, type]) =>
      [...metrics!.matchAll(/`([a-z_]+)(?:\{[^}]*\})?`/g)].map((m) => `${m[1]} ${type}`),
    );
    assert.deepEqual(sorted(rows), sorted(code));
  });

  it('gives every exit code, with the meaning src/cli/exit.ts gives it, and no other', () => {
    const rows = tableAfter(doc('docs/exit-codes.md'), '');
    assert.deepEqual(
      rows.map(([code, meaning]) => ({ code: Number(code), meaning })),
      EXIT_CODES.map(({ code, meaning }) => ({ code, meaning })),
    );
  });

  it('gives every diagnostic code with its severity and meaning, and no other', () => {
    const rows = tableAfter(doc('docs/lint.md'), '## Diagnostic codes').map(
      ([code, severity, meaning]) => `${code!.replace(/`/g, '')} ${severity} ${meaning}`,
    );
    const code = Object.entries(DIAGNOSTIC_CODES).map(
      ([name, severity]) => `${name} ${severity} ${DIAGNOSTIC_HELP[name as DiagnosticCode]}`,
    );
    assert.deepEqual(sorted(rows), sorted(code));
  });

  it('gives every error code the source defines, and no other', () => {
    const codes = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts'))
          for (const m of doc(path).matchAll(/readonly code(?:: string)? = '([A-Z_]+)'/g)) codes.add(m[1]!);
      }
    };
    walk('src');
    assert.ok(codes.size > 10, 'the scan finds the codes');
    for (const code of codes) assert.match(code, /^ERR_AUDIT_SHIP_/, 'one prefix for every code');
    const rows = tableAfter(doc('docs/errors.md'), '').map(([code]) => code!.replace(/`/g, ''));
    assert.deepEqual(sorted(rows), sorted(codes));
  });

  it('names an existing test for every guarantee in the README', () => {
    for (const [promise, proof] of tableAfter(doc('README.md'), '## Guarantees')) {
      const files = [...(proof ?? '').matchAll(/`((?:test|bench)\/[^`*]+\.ts)`/g)].map((m) => m[1]!);
      assert.ok(files.length > 0, `no test named for: ${promise}`);
      for (const file of files) assert.doesNotThrow(() => readFileSync(join(ROOT, file)), `${file} exists`);
    }
  });

  it('names only source, test and bench files that exist', () => {
    for (const page of ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)]) {
      for (const [, file] of doc(page).matchAll(/`((?:src|test|bench|scripts)\/[\w/.-]+\.ts)`/g)) {
        assert.doesNotThrow(() => readFileSync(join(ROOT, file!)), `${page} names ${file}`);
      }
    }
  });

  it('links only to pages that exist', () => {
    for (const page of ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)]) {
      const base = page.startsWith('docs/') ? 'docs' : '.';
      for (const [, target] of doc(page).matchAll(/\]\(([^)#:]+\.md)(?:#[^)]*)?\)/g)) {
        assert.doesNotThrow(() => readFileSync(join(ROOT, base, target!)), `${page} links to ${target}`);
      }
    }
  });
});
