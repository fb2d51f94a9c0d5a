/** Runs kubectl: to its end for a short answer, or as a child whose stdout is read as it comes. */
import { spawn, type ChildProcess } from 'node:child_process';
import split2 from 'split2';
import { InputError } from '../../errors.js';

/** kubectl's answer to a short request (get, version): bounded, its output is small. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface KubectlAnswer {
  code: number | null;
  stdout: string;
  /** kubectl's last message on stderr, for ours; how it ended when it said nothing. */
  error: string;
}

/**
 * How a kubectl that said nothing on stderr ended: a wrapper given as --kubectl-command may fail
 * without a word, and a note that quoted its silence read "kubectl get deployment/x: ; again".
 */
function silentEnd(end: { code: number | null; signal: NodeJS.Signals | null }): string {
  return end.signal ? `killed by ${end.signal}, saying nothing` : `exit code ${end.code}, saying nothing`;
}

export function notInstalled(command: string): InputError {
  // A command with a slash is a path: PATH was not searched, and the path is what to check.
  if (command.includes('/')) return new InputError(`--kubectl: ${command} does not exist (--kubectl-command names kubectl's path)`);
  return new InputError(`--kubectl: ${command} was not found on PATH (install kubectl 1.24 or later, or give --kubectl-command)`);
}

/** Starts kubectl; its stderr lines go to `onError` (the last one is kept for the outcome). */
export function startKubectl(command: string, args: string[], onError: (line: string) => void): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.pipe(split2()).on('data', (line: string) => onError(line));
  return child;
}

/** How a kubectl child ended: 'ENOENT' when it could not be started. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; enoent: boolean }> {
  return new Promise((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, enoent: error.code === 'ENOENT' }));
    child.once('close', (code, signal) => resolve({ code, signal, enoent: false }));
  });
}

/**
 * Runs kubectl to its end, or until `signal` aborts (it is then stopped: an API server that
 * accepts and never answers held kubectl, and a stop signal with it, for ever); throws only when
 * kubectl cannot be started at all.
 */
export async function askKubectl(command: string, args: string[], signal?: AbortSignal): Promise<KubectlAnswer> {
  let error = '';
  const child = startKubectl(command, args, (line) => (error = line || error));
  const stop = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', stop, { once: true });
  const out: Buffer[] = [];
  let bytes = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= MAX_ANSWER_BYTES) out.push(chunk);
    else child.kill('SIGTERM');
  });
  const end = await exited(child);
  signal?.removeEventListener('abort', stop);
  if (end.enoent) throw notInstalled(command);
  return { code: end.code, stdout: Buffer.concat(out).toString('utf8'), error: error || (end.code === 0 ? '' : silentEnd(end)) };
}

/** kubectl said the object does not exist (or is not ours to read): retrying will not help. */
export function isPermanent(message: string): boolean {
  return /\((NotFound|Forbidden|Unauthorized)\)|not found|forbidden/i.test(message);
}

/** The API server refused us (a Role without the right, credentials it does not take): the same for every pod. */
export function isDenied(message: string): boolean {
  return /\((Forbidden|Unauthorized)\)/.test(message);
}

/**
 * kubectl's own configuration is wrong (a --kubeconfig, context or certificate file that is not
 * there), so it made no request: what the first commands of a run stop on. Not for a log stream,
 * where the kubelet's own "no such file or directory" about a log file may pass.
 */
export function isMisconfigured(message: string): boolean {
  return isPermanent(message) || /^error: stat |error in configuration/i.test(message);
}
