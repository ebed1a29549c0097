// Writes CHANGELOG.md from the history's Conventional Commit subjects (`type(scope): subject`):
// one section per release tag (v*, newest first; the commits after the last tag under the version of
// package.json, "unreleased"), its commits grouped by type in the order of TYPES below, newest first.
// Merge commits are left out; a subject that is no Conventional Commit goes under "Other". A `!`
// after the type or a `BREAKING CHANGE:` footer also lists the commit under "Breaking changes".
//
//   node scripts/changelog.mjs            (npm run changelog) rewrites CHANGELOG.md
//   node scripts/changelog.mjs --stdout   prints it instead
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const TYPES = [
  ['feat', 'Features'],
  ['fix', 'Fixes'],
  ['perf', 'Performance'],
  ['refactor', 'Refactoring'],
  ['docs', 'Documentation'],
  ['test', 'Tests'],
  ['bench', 'Benchmarks'],
  ['build', 'Build and packaging'],
  ['ci', 'Continuous integration'],
  ['chore', 'Chores'],
  ['style', 'Style'],
  ['revert', 'Reverts'],
];
const HEADING = new Map(TYPES);
const SUBJECT = /^([a-z]+)(?:\(([^)]+)\))?(!)?: (.+)$/;

const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });

/** The commits of a range, oldest first, each with its type, scope, subject and breaking flag. */
function commits(range) {
  // Fields split by \x1f, records by \x1e: a body may hold any other character.
  const out = git('log', '--no-merges', '--format=%s%x1f%b%x1e', range);
  return out
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record !== '')
    .map((record) => {
      const [subject, body] = record.split('\x1f');
      const m = SUBJECT.exec(subject.trim());
      const type = m && HEADING.has(m[1]) ? m[1] : 'other';
      return {
        type,
        scope: m && type !== 'other' ? m[2] : undefined,
        text: m && type !== 'other' ? m[4] : subject.trim(),
        breaking: Boolean(m?.[3]) || /^BREAKING[ -]CHANGE: /m.test(body),
      };
    });
}

function section(title, list) {
  const lines = [`## ${title}`, ''];
  const item = (c) => `- ${c.scope ? `**${c.scope}:** ` : ''}${c.text}`;
  const breaking = list.filter((c) => c.breaking);
  if (breaking.length > 0) lines.push('### Breaking changes', '', ...breaking.map(item), '');
  for (const [type, heading] of [...TYPES, ['other', 'Other']]) {
    const group = list.filter((c) => c.type === type);
    if (group.length > 0) lines.push(`### ${heading}`, '', ...group.map(item), '');
  }
  return lines;
}

const tags = git('tag', '--list', 'v*', '--merged', 'HEAD', '--sort=-v:refname').split('\n').filter(Boolean);
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const lines = [
  '# Changelog',
  '',
  'Generated from the commit history by `npm run changelog` (scripts/changelog.mjs), which groups',
  'the [Conventional Commits](https://www.conventionalcommits.org/) by type. Do not edit by hand.',
  '',
];
const unreleased = commits(tags[0] ? `${tags[0]}..HEAD` : 'HEAD');
if (unreleased.length > 0 || tags.length === 0) {
  const title = tags.includes(`v${version}`) ? 'Unreleased' : `${version} (unreleased)`;
  lines.push(...section(title, unreleased));
}
tags.forEach((tag, i) => {
  const list = commits(tags[i + 1] ? `${tags[i + 1]}..${tag}` : tag);
  const date = git('log', '-1', '--format=%aI', tag).slice(0, 10);
  lines.push(...section(`${tag.replace(/^v/, '')} (${date})`, list));
});
const text = `${lines.join('\n').trimEnd()}\n`;
if (process.argv.includes('--stdout')) process.stdout.write(text);
else writeFileSync(join(ROOT, 'CHANGELOG.md'), text);
