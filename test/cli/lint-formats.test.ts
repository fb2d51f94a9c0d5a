/**
 * lint's reports for CI systems, checked by independent readers: SARIF against the SARIF 2.1.0
 * JSON Schema (ajv), JUnit XML parsed (fast-xml-parser), GitLab Code Quality fields and unique
 * fingerprints; and every format names the same findings, line for line, as --format json.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { runCli, tempDir } from '../helpers/cli.js';
import { lines } from '../helpers/ledger.js';
import { readCases } from '../helpers/paths.js';
import { MAX_LISTED_FINDINGS } from '../../src/cli/lint-report.js';

const require = createRequire(import.meta.url);
// The SARIF 2.1.0 schema is draft-04 JSON Schema: ajv-draft-04 reads it.
const AjvDraft04 = require('ajv-draft-04') as typeof import('ajv-draft-04').default;
const sarifSchema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;

/** Good and bad records in two files: errors, warnings, and a clean file. */
function corpus(): string[] {
  const dir = tempDir('audit-ship-formats-');
  const bad = join(dir, 'bad.jsonl');
  const records = [...readCases('records-invalid.jsonl'), ...readCases('records-warning.jsonl')].map(
    (c) => `${JSON.stringify(c.record)}\n`,
  );
  writeFileSync(bad, records.join(''));
  const good = join(dir, 'good.jsonl');
  writeFileSync(good, lines(5, 701).join(''));
  return [bad, good];
}

/** Each finding as `file:line:code`, sorted: what every format must agree on. */
type Finding = string;
const sorted = (f: Finding[]) => [...f].sort();

async function report(format: string, files: string[]): Promise<string> {
  const res = await runCli(['lint', '--format', format, ...files]);
  assert.equal(res.code, 1, res.stderr);
  return res.stdout;
}

describe('lint formats', () => {
  it('agree with --format json on every finding, and are each well-formed for their readers', async () => {
    const files = corpus();
    const json = (await report('json', files))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { file: string; line: number; code: string });
    const expected = sorted(json.map((d) => `${d.file}:${d.line}:${d.code}`));
    assert.ok(expected.length > 10, 'the corpus has findings');

    const sarif = JSON.parse(await report('sarif', files)) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
        }[];
      }[];
    };
    const ajv = new AjvDraft04({ strict: false, validateFormats: false, unicodeRegExp: false });
    assert.ok(ajv.validate(sarifSchema, sarif), JSON.stringify(ajv.errors?.slice(0, 3)));
    const run = sarif.runs[0]!;
    for (const r of run.results) assert.equal(run.tool.driver.rules[r.ruleIndex]!.id, r.ruleId);
    assert.deepEqual(
      sorted(
        run.results.map(
          (r) =>
            `${decodeURI(r.locations[0]!.physicalLocation.artifactLocation.uri)}:${r.locations[0]!.physicalLocation.region.startLine}:${r.ruleId}`,
        ),
      ),
      expected,
    );

    const xml = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => name === 'testsuite' || name === 'testcase',
    }).parse(await report('junit', files)) as {
      testsuites: {
        testsuite: { name: string; failures: string; testcase: { name: string; failure?: { type: string }; 'system-out'?: string }[] }[];
      };
    };
    const suites = xml.testsuites.testsuite;
    assert.deepEqual(
      suites.map((s) => s.name),
      files,
    );
    assert.equal(suites[1]!.testcase.length, 1, 'a clean file is one passing case');
    assert.equal(suites[1]!.failures, '0');
    const junitLines = suites[0]!.testcase.map((t) => Number(t.name.replace('line ', '')));
    assert.deepEqual(
      [...new Set(junitLines)].sort((a, b) => a - b),
      [...new Set(json.filter((d) => d.file === files[0]).map((d) => d.line))].sort((a, b) => a - b),
    );

    const gitlab = JSON.parse(await report('gitlab', files)) as {
      description: string;
      check_name: string;
      fingerprint: string;
      severity: string;
      location: { path: string; lines: { begin: number } };
    }[];
    assert.deepEqual(sorted(gitlab.map((g) => `${g.location.path}:${g.location.lines.begin}:${g.check_name}`)), expected);
    assert.equal(new Set(gitlab.map((g) => g.fingerprint)).size, gitlab.length, 'fingerprints are unique');
    for (const g of gitlab) assert.ok(['major', 'minor'].includes(g.severity) && g.description.length > 0);
    const again = JSON.parse(await report('gitlab', files)) as { fingerprint: string }[];
    assert.deepEqual(
      again.map((g) => g.fingerprint),
      gitlab.map((g) => g.fingerprint),
      'stable across runs',
    );
  });

  // A log that fails on every line once made documents of a finding a line, in memory: 1.8 million
  // findings took 4.3 GB and 45 s as JUnit, and more ran node out of heap.
  it(`the documents list the first ${MAX_LISTED_FINDINGS} findings and say how many more there are`, async () => {
    const dir = tempDir('audit-ship-formats-');
    const many = join(dir, 'every-line-bad.jsonl');
    writeFileSync(many, '{bad\n'.repeat(MAX_LISTED_FINDINGS + 2));
    const after = join(dir, 'one-bad.jsonl');
    writeFileSync(after, '[]\n');
    const files = [many, after];
    const json = (await report('json', files)).trim().split('\n');
    assert.equal(json.length, MAX_LISTED_FINDINGS + 3, 'the streaming formats list every finding');
    const note = /^3 more findings not listed: the report holds the first 10000; --format json lists every one/;

    const sarif = JSON.parse(await report('sarif', files)) as {
      runs: { results: unknown[]; invocations: { toolExecutionNotifications: { message: { text: string } }[] }[] }[];
    };
    const ajv = new AjvDraft04({ strict: false, validateFormats: false, unicodeRegExp: false });
    assert.ok(ajv.validate(sarifSchema, sarif), JSON.stringify(ajv.errors?.slice(0, 3)));
    assert.equal(sarif.runs[0]!.results.length, MAX_LISTED_FINDINGS);
    assert.match(sarif.runs[0]!.invocations[0]!.toolExecutionNotifications[0]!.message.text, note);

    const xml = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => name === 'testsuite' || name === 'testcase',
    }).parse(await report('junit', files)) as {
      testsuites: { tests: string; failures: string; testsuite: { name: string; testcase?: { failure?: { message: string } }[] }[] };
    };
    const suites = xml.testsuites.testsuite;
    assert.deepEqual(
      suites.map((t) => [t.name, t.testcase?.length ?? 0]),
      [
        [many, MAX_LISTED_FINDINGS],
        [after, 0], // its finding is past the limit: not a passing "valid" case either
        ['findings not listed', 1],
      ],
    );
    assert.match(
      suites[2]!.testcase![0]!.failure!.message,
      new RegExp(`${note.source.slice(1)}; the first of them at .*every-line-bad\\.jsonl:10001`),
    );
    assert.equal(xml.testsuites.failures, String(MAX_LISTED_FINDINGS + 1));

    const gitlab = JSON.parse(await report('gitlab', files)) as {
      check_name: string;
      description: string;
      location: { lines: { begin: number } };
    }[];
    assert.equal(gitlab.length, MAX_LISTED_FINDINGS + 1);
    assert.equal(gitlab.at(-1)!.check_name, 'findings-not-listed');
    assert.match(gitlab.at(-1)!.description, note);
    assert.equal(gitlab.at(-1)!.location.lines.begin, MAX_LISTED_FINDINGS + 1);
  });

  it('JUnit keeps a file name with a tab or a newline in it, as character references in its attributes', async () => {
    const file = join(tempDir(), 'audit\tof\nmonday.jsonl');
    writeFileSync(file, `${lines(1, 608).join('')}not json\n`);
    const res = await runCli(['lint', '--format', 'junit', file]);
    assert.equal(res.code, 1, res.stderr);
    // Written raw, an attribute's tab or newline is read back by an XML parser as a space.
    assert.doesNotMatch(res.stdout, /="[^"]*[\t\n]/, 'no raw tab or newline inside an attribute');
    assert.match(res.stdout, /classname="[^"]*audit&#9;of&#10;monday\.jsonl"/);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', htmlEntities: true }).parse(res.stdout) as {
      testsuites: { testsuite: { name: string; testcase: { classname: string } } };
    };
    assert.equal(parsed.testsuites.testsuite.name, file);
    assert.equal(parsed.testsuites.testsuite.testcase.classname, file);
  });

  it('--output writes the report to a file, its folders made, while text goes to the terminal', async () => {
    const files = corpus();
    // Under folders that are not there yet, as a CI job names a path it collects.
    const out = join(tempDir(), 'reports', 'lint', 'report.sarif');
    const res = await runCli(['lint', '--format', 'sarif', '--output', out, ...files]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /bad\.jsonl:\d+: error/);
    assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { version: string }).version, '2.1.0');
  });

  it('writes several reports in one run, each --output in the --format given in the same place', async () => {
    const files = corpus();
    const dir = tempDir();
    const [junit, gitlab, json] = ['audit.xml', 'quality.json', 'findings.ndjson'].map((f) => join(dir, f)) as [string, string, string];
    const res = await runCli([
      'lint',
      '--format',
      'junit',
      '--output',
      junit,
      '--format',
      'gitlab',
      '--output',
      gitlab,
      '--output',
      json,
      '--format',
      'json',
      ...files,
    ]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stdout, /bad\.jsonl:\d+: error/, 'text on stdout beside the files');
    // Each file holds what a run with that format alone prints (the Code Quality fingerprints are stable).
    assert.equal(readFileSync(junit, 'utf8'), await report('junit', files));
    assert.equal(readFileSync(gitlab, 'utf8'), await report('gitlab', files));
    assert.equal(readFileSync(json, 'utf8'), await report('json', files));
  });

  // `--output -` once made a file named `-`, and stdout got text instead of the report.
  it('--output - is stdout, in the format given with it, beside a report file', async () => {
    const files = corpus();
    const dir = tempDir();
    const junit = join(dir, 'audit.xml');
    const res = await runCli(['lint', '--format', 'json', '--output', '-', '--format', 'junit', '--output', junit, ...files], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stdout, await report('json', files));
    assert.equal(readFileSync(junit, 'utf8'), await report('junit', files));
    assert.equal(existsSync(join(dir, '-')), false, 'no file named -');
  });

  it('refuses reports it cannot pair with their files before reading any input', async () => {
    const dir = tempDir();
    for (const [args, message] of [
      [['--format', 'junit', '--format', 'gitlab'], /2 --format and no --output: several reports need a file each/],
      [
        ['--format', 'junit', '--output', join(dir, 'a'), '--output', join(dir, 'b')],
        /1 --format and 2 --output: each --output takes the --format given/,
      ],
      [['--format', 'junit', '--output', join(dir, 'a'), '--format', 'sarif', '--output', `${dir}/./a`], /--output .*a is given twice/],
    ] as const) {
      const res = await runCli(['lint', ...args, '-'], { input: 'never read\n' });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
      assert.equal(res.stdout, '');
    }
  });

  it('--max-warnings fails a run whose only findings are warnings, past the number allowed', async () => {
    const file = join(tempDir(), 'warnings.jsonl');
    writeFileSync(
      file,
      readCases('records-warning.jsonl')
        .map((c) => `${JSON.stringify(c.record)}\n`)
        .join(''),
    );
    assert.equal((await runCli(['lint', file])).code, 0);
    const strict = await runCli(['lint', '--max-warnings', '0', file]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /warnings, more than --max-warnings 0/);
  });
  // A finding is placed on the repository's file of its name: `./a.jsonl` from a job's subdirectory
  // named no file of the repository, and GitHub and GitLab showed nothing on it.
  it('names files relative to the checkout the CI system names, wherever the job runs and however they are given', async () => {
    const repo = tempDir('audit-ship-repo-');
    const outside = join(tempDir(), 'elsewhere.jsonl');
    for (const file of [join(repo, 'logs', 'a.jsonl'), join(repo, 'other', 'b.jsonl'), outside]) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${lines(1, 610).join('')}not json\n`);
    }
    // The workspace named through a symbolic link, as a runner's may be: the job's directory is its target.
    const workspace = join(tempDir(), 'workspace');
    symlinkSync(repo, workspace);
    const inputs = ['./a.jsonl', '../other/b.jsonl', outside];
    const run = async (format: string, env: NodeJS.ProcessEnv) => {
      const summary = join(tempDir(), 'summary.md');
      const res = await runCli(['lint', '--format', format, ...inputs], {
        cwd: join(repo, 'logs'),
        env: { ...env, GITHUB_STEP_SUMMARY: summary },
      });
      assert.equal(res.code, 1, res.stderr);
      return { out: res.stdout, summary: existsSync(summary) ? readFileSync(summary, 'utf8') : '' };
    };
    const placed = ['logs/a.jsonl', 'other/b.jsonl', outside];
    const github = await run('github', { GITHUB_WORKSPACE: workspace });
    assert.deepEqual(
      [...github.out.matchAll(/^::error file=([^,]+),line=2,/gm)].map((m) => m[1]),
      placed.map((f) => f.replace(/:/g, '%3A')),
    );
    assert.match(github.summary, /\| `logs\/a\.jsonl` \| 1 \| 0 \|/);
    assert.doesNotMatch(github.summary, /\.\/a\.jsonl/);
    const sarif = JSON.parse((await run('sarif', { GITHUB_WORKSPACE: workspace })).out) as {
      runs: { results: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[];
    };
    assert.deepEqual(
      sarif.runs[0]!.results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri),
      placed,
    );
    const gitlab = JSON.parse((await run('gitlab', { CI_PROJECT_DIR: repo })).out) as { location: { path: string } }[];
    assert.deepEqual(
      gitlab.map((g) => g.location.path),
      placed,
    );
    // Each CI system's own variable only; and text and json keep the names as given.
    const gitlabUnderGitHub = JSON.parse((await run('gitlab', { GITHUB_WORKSPACE: workspace })).out) as { location: { path: string } }[];
    assert.deepEqual(
      gitlabUnderGitHub.map((g) => g.location.path),
      inputs,
    );
    const json = (await run('json', { GITHUB_WORKSPACE: workspace, CI_PROJECT_DIR: repo })).out.trim().split('\n');
    assert.deepEqual(
      json.map((l) => (JSON.parse(l) as { file: string }).file),
      inputs,
    );
    assert.match((await run('text', { GITHUB_WORKSPACE: workspace })).out, /^\.\/a\.jsonl:2: error/m);
    // Outside a CI job, a file is named as given.
    assert.match((await run('github', {})).out, /^::error file=\.\/a\.jsonl,line=2,/m);
  });
});
