/**
 * The ways `lint` reports a diagnostic as it is found: text for people, NDJSON for scripts, GitHub
 * annotations for CI. The documents written whole at the end (SARIF, JUnit, GitLab) are in lint-report.ts.
 */
import type { Colors } from './tty.js';
import { printable } from '../printable.js';
import type { Diagnostic } from '../schema/diagnostic.js';

export const LINT_FORMATS = ['text', 'json', 'github', 'sarif', 'junit', 'gitlab'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];
/** The formats written a diagnostic at a time. */
export type StreamFormat = 'text' | 'json' | 'github';

export interface Located {
  file: string;
  line: number;
  diagnostic: Diagnostic;
}

export type DiagnosticFormatter = (item: Located) => string;

function text(colors: Colors): DiagnosticFormatter {
  return ({ file, line, diagnostic: d }) => {
    const severity = d.severity === 'error' ? colors.red('error') : colors.yellow('warning');
    // One finding a line, whatever the keys and file names hold (src/printable.ts).
    const field = d.field === null ? '' : ` ${colors.bold(printable(d.field))}`;
    return `${printable(file)}:${line}: ${severity}${field}: ${printable(d.message)} ${colors.dim(`[${d.code}]`)}\n`;
  };
}

function json(): DiagnosticFormatter {
  return ({ file, line, diagnostic: d }) =>
    `${JSON.stringify({ file, line, severity: d.severity, field: d.field, code: d.code, message: d.message })}\n`;
}

/** Workflow command escaping: data escapes %, CR, LF; properties also `:` and `,`. */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function github(): DiagnosticFormatter {
  return ({ file, line, diagnostic: d }) => {
    const title = escapeProperty(`audit-ship ${d.code}`);
    // GitHub's log viewer acts on escape sequences as a terminal does.
    const message = escapeData(printable(d.field === null ? d.message : `${d.field}: ${d.message}`));
    return `::${d.severity} file=${escapeProperty(printable(file))},line=${line},title=${title}::${message}\n`;
  };
}

export function diagnosticFormatter(format: StreamFormat, colors: Colors): DiagnosticFormatter {
  switch (format) {
    case 'text':
      return text(colors);
    case 'json':
      return json();
    case 'github':
      return github();
  }
}
