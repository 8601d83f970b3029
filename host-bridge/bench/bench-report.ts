// The runner's reports: a summary a person reads (per scenario its steps, what was asserted, pass or fail
// with the evidence), JUnit XML that Jenkins and GitLab read (one testsuite, one testcase per scenario, a
// failure element naming the first failed assertion with the evidence as its text), and JSON.
import type { ScenarioResult } from './bench-runner.js';
import type { StepResult } from './bench-steps.js';

const secs = (ms: number) => (ms / 1000).toFixed(3);

/** The step's own lines: its outcome, its judgements, and on failure the evidence it judged. */
export function stepLines(r: StepResult): string[] {
  const mark = r.ok ? 'ok  ' : 'FAIL';
  const slow = r.ms >= 500 ? ` [${(r.ms / 1000).toFixed(1)} s]` : '';
  const out = [`  ${mark} ${r.line ? `line ${String(r.line).padEnd(3)} ` : ''}${r.title ? `${r.title} — ` : ''}${r.what}${slow}${r.said ? ` → ${r.said.split('\n').join('\n             ')}` : ''}`];
  if (r.error) out.push(`         error: ${r.error}`);
  for (const j of r.judgements) out.push(`       ${j.ok ? '✓' : '✗'} ${j.what}: ${j.detail}`);
  if (!r.ok) for (const e of [...r.judgements.filter((j) => !j.ok).flatMap((j) => j.evidence), ...r.evidence]) out.push(`         | ${e}`);
  return out;
}

/** One step as `npm start` tells it: the scenario's words as the heading, then what happened and what was judged. */
export function narrationLines(r: StepResult): string[] {
  const out = ['', `== ${r.title ?? r.what}${r.ms >= 1000 ? ` (${(r.ms / 1000).toFixed(1)} s)` : ''}`];
  if (r.title) out.push(`   ${r.what}`);
  if (r.said) out.push(...r.said.split('\n').map((l) => `   ${l}`));
  if (r.error) out.push(`   ERROR: ${r.error}`);
  for (const j of r.judgements) out.push(`   ${j.ok ? '✓' : '✗'} ${j.what}: ${j.detail}`);
  if (!r.ok) for (const e of [...r.judgements.filter((j) => !j.ok).flatMap((j) => j.evidence), ...r.evidence]) out.push(`     | ${e}`);
  return out;
}

/** The last words of a narrated run: whether the journal and the acquirer's ledger agree, and where the receipts are. */
export function verdictText(results: readonly ScenarioResult[], receipts: readonly string[]): string {
  const judged = results.flatMap((r) => r.steps.flatMap((s) => s.judgements));
  const bad = judged.filter((j) => !j.ok);
  const errors = results.flatMap((r) => r.steps.filter((s) => s.error));
  const invariants = judged.filter((j) => j.what.startsWith('invariant ')).length;
  const lines = [''];
  if (bad.length === 0 && errors.length === 0 && results.every((r) => r.ok)) {
    lines.push(`VERDICT: the journal and the acquirer's ledger agree — ${invariants} money invariant checks held, the journal verifies clean, and every one of ${judged.length} assertions held.`);
  } else {
    lines.push(`VERDICT: FAILED — ${[bad.length ? `${bad.length} of ${judged.length} assertions failed` : '', errors.length ? `${errors.length} step(s) could not run` : ''].filter(Boolean).join(', ')}:`);
    for (const j of bad) lines.push(`  ✗ ${j.what}: ${j.detail}`);
    for (const s of errors) lines.push(`  ✗ line ${s.line} ${s.what}: ${s.error}`);
  }
  lines.push('', `receipts printed in this run (SVG, open them in a browser):`, ...(receipts.length ? receipts.map((r) => `  ${r}`) : ['  none']));
  return lines.join('\n');
}

export function summaryText(results: readonly ScenarioResult[], head: readonly string[] = []): string {
  const lines = [...head];
  for (const r of results) {
    const asserted = r.steps.reduce((n, s) => n + s.judgements.length, 0);
    const failed = r.steps.reduce((n, s) => n + s.judgements.filter((j) => !j.ok).length + (s.error ? 1 : 0), 0);
    lines.push('', `${r.ok ? 'PASS' : 'FAIL'} ${r.name} (${r.file}) — ${r.steps.length} steps, ${asserted} assertions, ${failed} failed, ${secs(r.ms)} s`);
    if (r.story) lines.push(`  ${r.story}`);
    for (const s of r.steps) lines.push(...stepLines(s));
    if (r.skipped) lines.push(`  ${r.skipped} step(s) not run after the failure above`);
  }
  const bad = results.filter((r) => !r.ok);
  lines.push('', `${results.length} scenarios: ${results.length - bad.length} passed, ${bad.length} failed${bad.length ? ` (${bad.map((r) => r.name).join(', ')})` : ''}`);
  return lines.join('\n');
}

function xml(s: string): string {
  // XML 1.0 cannot carry most control characters even escaped: drop them.
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The first thing that failed in a scenario, for the failure element's message. */
function firstFailure(r: ScenarioResult): { message: string; type: string } {
  for (const s of r.steps) {
    if (s.error) return { message: `line ${s.line}: ${s.what}: ${s.error}`, type: 'step-error' };
    const j = s.judgements.find((x) => !x.ok);
    if (j) return { message: `line ${s.line}: ${j.what}: ${j.detail}`, type: 'assertion' };
  }
  return { message: `${r.skipped} steps not run`, type: 'step-error' };
}

export function junitXml(results: readonly ScenarioResult[], suite = 'posj-bench'): string {
  const failures = results.filter((r) => !r.ok).length;
  const total = results.reduce((n, r) => n + r.ms, 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(suite)}" tests="${results.length}" failures="${failures}" errors="0" time="${secs(total)}">`];
  out.push(`  <testsuite name="${xml(suite)}" tests="${results.length}" failures="${failures}" errors="0" skipped="0" time="${secs(total)}" timestamp="${new Date().toISOString().slice(0, 19)}">`);
  for (const r of results) {
    out.push(`    <testcase name="${xml(r.name)}" classname="bench.${xml(r.name)}" file="${xml(r.file)}" time="${secs(r.ms)}">`);
    if (!r.ok) {
      const f = firstFailure(r);
      const body = r.steps.filter((s) => !s.ok).flatMap(stepLines).join('\n');
      out.push(`      <failure message="${xml(f.message)}" type="${f.type}">${xml(body)}</failure>`);
    }
    out.push(`      <system-out>${xml(r.steps.flatMap(stepLines).join('\n'))}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

export function jsonReport(results: readonly ScenarioResult[]): object {
  return { ok: results.every((r) => r.ok), scenarios: results };
}
