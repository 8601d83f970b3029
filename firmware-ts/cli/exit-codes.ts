import { Command, CommanderError } from 'commander';
import { JOURNAL_FAILED_EXIT, JournalError } from '../journal/errors.js';

// Exit codes scripts can rely on across every posj and posj-bridge command.
export const ExitCode = {
  ok: 0,
  /** The operation ran and reports a failure (declined, a violation found, a check failed). */
  failed: 1,
  /** Bad usage, a missing file or another I/O error. */
  usage: 2,
  /** The journal is corrupt (not just a torn tail). */
  corrupt: 3,
  /** The journal is locked by another process. */
  locked: 4,
  /** A money operation failed but the debit may stand (reversal owed, stuck, closed by a supervisor) or its outcome is unknown. */
  unsettled: 5,
  /** `posj run` stopped because a bench asked for a reboot: `posj boot` starts it again at once. */
  reboot: 75,
  /** `posj run` stopped because its journal failed a write or sync: init restarts it and it recovers from disk. */
  journalFailed: JOURNAL_FAILED_EXIT,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof JournalError) {
    if (err.code === 'JOURNAL_CORRUPT' || err.code === 'JOURNAL_TAMPERED' || err.code === 'REPAIR_UNFINISHED') return ExitCode.corrupt;
    if (err.code === 'JOURNAL_LOCKED') return ExitCode.locked;
    if (err.code === 'JOURNAL_WRITE_FAILED' || err.code === 'JOURNAL_CLOSED') return ExitCode.journalFailed;
  }
  // Another daemon already serves this terminal's socket: its journal is held, as a LOCK would say.
  if ((err as { code?: unknown })?.code === 'DAEMON_RUNNING') return ExitCode.locked;
  return ExitCode.usage;
}

/** Wraps a command action: typed errors become one readable line (or JSON) and a meaningful exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const json = Boolean(cmd?.opts?.().json);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? ExitCode.ok;
    } catch (err) {
      const e = err as Error & { code?: string };
      // The shape every --json answer has (flash's, the control API's): ok first, then the error.
      if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: e.code ?? e.name, message: e.message } }) + '\n');
      else process.stderr.write(`${cmd?.name?.() ?? 'posj'}: ${e.message}\n`);
      process.exitCode = exitCodeFor(err);
    }
  };
}

/** Commander exits 1 on usage errors; scripts here expect 2. */
export function withUsageExitCode(program: Command): Command {
  program.exitOverride((err: CommanderError) => {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      process.exit(0);
    }
    process.exit(ExitCode.usage);
  });
  return program;
}
