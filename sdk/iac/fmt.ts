// `coffer iac fmt`: Terraform's canonical layout for the common cases — two-space indentation by
// nesting, `=` aligned across consecutive arguments of a block, no trailing spaces, one final
// newline, at most one blank line in a row. Heredocs and multi-line strings are left as written.
export function formatHcl(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let depth = 0;
  let heredoc: string | null = null;
  for (const raw of lines) {
    if (heredoc) {
      out.push(raw);
      if (raw.trim() === heredoc) heredoc = null;
      continue;
    }
    const line = raw.trim();
    const code = stripStrings(line.replace(/(#|\/\/).*$/, ''));
    const opens = (code.match(/[{[(]/g) ?? []).length;
    const closes = (code.match(/[}\])]/g) ?? []).length;
    const leadingCloses = /^[}\])]+/.exec(code)?.[0].length ?? 0;
    const indent = Math.max(0, depth - leadingCloses);
    out.push(line ? '  '.repeat(indent) + line : '');
    depth = Math.max(0, depth + opens - closes);
    const h = /<<-?([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(line);
    if (h) heredoc = h[1]!;
  }
  alignEquals(out);
  let result = out.map((l) => l.replace(/[ \t]+$/, '')).join('\n').replace(/\n{3,}/g, '\n\n').replace(/^\n+/, '');
  result = result.replace(/\n*$/, '\n');
  return result;
}

function stripStrings(code: string): string {
  return code.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** Aligns `=` in runs of single-line arguments at the same indentation, as terraform fmt does. */
function alignEquals(lines: string[]): void {
  const arg = /^(\s*)([A-Za-z_][A-Za-z0-9_-]*|"[^"]*")\s*=\s*(.*)$/;
  let i = 0;
  while (i < lines.length) {
    const m = arg.exec(lines[i]!);
    if (!m || /[{[(]$/.test(stripStrings(m[3]!))) {
      i++;
      continue;
    }
    let j = i;
    const run: RegExpExecArray[] = [];
    while (j < lines.length) {
      const n = arg.exec(lines[j]!);
      // An argument whose value goes on over several lines ends the group, unaligned (as terraform fmt leaves it).
      if (!n || n[1] !== m[1] || /[{[(]$/.test(stripStrings(n[3]!))) break;
      run.push(n);
      j++;
    }
    const width = Math.max(...run.map((r) => r[2]!.length));
    run.forEach((r, k) => (lines[i + k] = `${r[1]}${r[2]!.padEnd(width)} = ${r[3]}`));
    i = j;
  }
}
