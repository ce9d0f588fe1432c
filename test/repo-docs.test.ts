// The repository explains itself: no tracked file may point at notes a clone does not have (files
// beside the checkout, machine paths, issue numbers that say nothing about why), and every relative
// link in a Markdown file must reach an existing file — and, with a #fragment into a Markdown file,
// an existing heading there.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Written so that this file does not match itself. Other projects' issues cited as sources are
// written with '#' ("rclone/rclone#5156", "dropbox-sdk-python issue #34") and are not matched.
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /\.\.\/shared\b/, why: 'a folder beside the checkout' },
  { pattern: /\/work\//, why: 'a path on one machine' },
  ...['DESIGN', 'DROPBOX', 'PERFORMANCE', 'STACK'].map((name) => ({
    pattern: new RegExp(`\\b${name}\\.md\\b`),
    why: 'a note outside the repository (see docs/ and test/bench/README.md)',
  })),
  { pattern: /\bissues? \d+/i, why: 'an issue number instead of the reason' },
];

function forbiddenReferences(text: string): { line: number; found: string; why: string }[] {
  const out: { line: number; found: string; why: string }[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { pattern, why } of FORBIDDEN) {
      const g = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
      for (const m of line.matchAll(g)) {
        out.push({ line: i + 1, found: m[0], why });
      }
    }
  });
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(markdown, false)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The lines outside fenced code blocks (same line numbers), inline code spans blanked unless `keepInline`. */
function withoutCode(markdown: string, blankInline = true): string[] {
  let fence: string | null = null;
  return markdown.split('\n').map((line) => {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      return '';
    }
    if (fence !== null) return '';
    return blankInline ? line.replace(/(`+)[^`]*?\1/g, (s) => ' '.repeat(s.length)) : line;
  });
}

/** Relative link targets of a Markdown file (inline links, images, reference definitions). */
function relativeLinks(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  withoutCode(markdown).forEach((line, i) => {
    const targets = [
      ...[...line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
      ...[...line.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((m) => m[1]!),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      out.push({ line: i + 1, target });
    }
  });
  return out;
}

/** Why a link from `file` (repository-relative) to `target` is broken, or null. */
function brokenLink(file: string, target: string, root: string): string | null {
  const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(pathPart.split('?')[0]!);
  const absolute = path === '' ? join(root, file) : path.startsWith('/') ? join(root, path) : resolve(root, dirname(file), path);
  if (relative(root, absolute).startsWith('..')) return 'points outside the repository';
  if (!existsSync(absolute)) return 'no such file';
  if (fragment && absolute.endsWith('.md') && statSync(absolute).isFile()) {
    if (!headingAnchors(readFileSync(absolute, 'utf8')).has(fragment.toLowerCase())) return `no heading #${fragment}`;
  }
  return null;
}

function trackedFiles(): string[] {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\0').filter(Boolean);
  } catch {
    // A copy without .git (the mutants' scratch copy): every file but the usual untracked ones.
    const skip = new Set(['node_modules', '.git', '.data', '.tap', 'dist']);
    const walk = (dir: string): string[] => readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
      if (skip.has(e.name)) return [];
      const rel = dir ? `${dir}/${e.name}` : e.name;
      return e.isDirectory() ? walk(rel) : e.isFile() ? [rel] : [];
    });
    files = walk('');
  }
  return files.filter((f) => !f.split('/').includes('node_modules') && existsSync(join(ROOT, f)));
}

function textOf(file: string): string | null {
  const bytes = readFileSync(join(ROOT, file));
  return bytes.includes(0) ? null : bytes.toString('utf8');
}

t.test('the checks themselves: a stray reference and a broken link are found, sources and code are not', async (t) => {
  // Spelled in pieces so that the repository scan below does not find them in this file.
  const shared = ['..', 'shared'].join('/');
  const note = ['DROPBOX', 'md'].join('.');
  const issue = ['issue', '7'].join(' ');
  const machine = ['', 'work', ''].join('/');
  t.same(forbiddenReferences(`see ${shared}/notes\nas ${note} §4 says\n// billing (${issue}).\n`).map((f) => [f.line, f.found]), [
    [1, shared],
    [2, note],
    [3, issue],
  ]);
  t.same(forbiddenReferences('docs/dropbox.md §4; rclone/rclone#5156; dropbox-sdk-python issue #34; an issue with 3 files\n'), []);
  t.same(forbiddenReferences(`cd ${machine}main`), [{ line: 1, found: machine, why: 'a path on one machine' }]);

  const md = '# Top\n## 3.4 Upload family (see §5.3)\n## Top\n## 6. `dropbox` SDK\n[a](docs/x.md) `[b](nowhere.md)`\n```\n[c](nowhere.md)\n```\n[d]: ../up.md\n[e](https://x.test/y) [f](#top-1)\n';
  t.same(relativeLinks(md), [{ line: 5, target: 'docs/x.md' }, { line: 9, target: '../up.md' }, { line: 10, target: '#top-1' }]);
  t.same([...headingAnchors(md)], ['top', '34-upload-family-see-53', 'top-1', '6-dropbox-sdk']);

  t.equal(brokenLink('README.md', 'docs/architecture.md', ROOT), null);
  t.equal(brokenLink('README.md', 'docs/no-such-page.md', ROOT), 'no such file');
  t.equal(brokenLink('README.md', `${shared}/x.md`, ROOT), 'points outside the repository');
  t.equal(brokenLink('docs/architecture.md', 'dropbox.md#4-content_hash', ROOT), null);
  t.equal(brokenLink('docs/architecture.md', 'dropbox.md#9-nothing', ROOT), 'no heading #9-nothing');
});

t.test('no tracked file points outside the repository or at an issue number', async (t) => {
  const files = trackedFiles();
  t.ok(files.length > 100, `scanned ${files.length} files`);
  const problems: string[] = [];
  for (const file of files) {
    const text = textOf(file);
    if (text === null) continue;
    for (const f of forbiddenReferences(text)) problems.push(`${file}:${f.line}: "${f.found}" — ${f.why}`);
  }
  t.same(problems, [], problems.join('\n'));
});

t.test('every relative link in a Markdown file reaches a file (and its heading)', async (t) => {
  const markdown = trackedFiles().filter((f) => f.endsWith('.md'));
  t.ok(markdown.includes('docs/architecture.md') && markdown.includes('README.md'), 'the docs are tracked');
  const problems: string[] = [];
  for (const file of markdown) {
    for (const { line, target } of relativeLinks(readFileSync(join(ROOT, file), 'utf8'))) {
      const why = brokenLink(file, target, ROOT);
      if (why) problems.push(`${file}:${line}: (${target}) ${why}`);
    }
  }
  t.same(problems, [], problems.join('\n'));
});
