// npm silently falls back to the system Node when the `node` package's install script did not
// run; the project needs Node 24 (type stripping, pg-boss, the dropbox SDK).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`Node 24 or later is required, got ${process.version}: run \`npm install\` (it installs Node 24 into node_modules).`);
  process.exit(1);
}
